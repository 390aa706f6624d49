package dev.attestmesh.server.store;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How a set of versioned documents (policies, registrations, the services of a mesh config) changes when a
 * new set replaces the stored one: which ids are added, which change (with their version before and after)
 * and which are removed. Operators read it in the log line a start with a policy, registration or mesh file
 * writes (docs/operator-guide.md, "Files given at start"), so they can see what a file did, or would do.
 *
 * @param added ids only in the new set, with the version they get
 * @param changed ids in both sets whose version differs (their content changed)
 * @param removed ids only in the stored set, with the version they had
 */
public record DocumentSetDiff(List<Entry> added, List<Entry> changed, List<Entry> removed) {
    /** Ids listed per kind in {@link #summary()}; the rest are counted, so a log line stays short. */
    static final int LISTED_PER_KIND = 20;

    /** The empty difference. */
    public static final DocumentSetDiff NONE = new DocumentSetDiff(List.of(), List.of(), List.of());

    /**
     * One id's change.
     *
     * @param from its version in the stored set, 0 when absent
     * @param to its version in the new set, 0 when absent
     */
    public record Entry(String id, long from, long to) {
        public Entry {
            Objects.requireNonNull(id, "id");
        }
    }

    public DocumentSetDiff {
        added = List.copyOf(added);
        changed = List.copyOf(changed);
        removed = List.copyOf(removed);
    }

    /**
     * The difference between two id-to-version maps: a version that differs means the content changed
     * (the stores give a new version exactly when a document's content changes). Entries follow the
     * maps' iteration order.
     */
    public static DocumentSetDiff ofVersions(Map<String, Long> before, Map<String, Long> after) {
        List<Entry> added = new ArrayList<>();
        List<Entry> changed = new ArrayList<>();
        List<Entry> removed = new ArrayList<>();
        after.forEach((id, version) -> {
            Long old = before.get(id);
            if (old == null) {
                added.add(new Entry(id, 0, version));
            } else if (old.longValue() != version.longValue()) {
                changed.add(new Entry(id, old, version));
            }
        });
        before.forEach((id, version) -> {
            if (!after.containsKey(id)) {
                removed.add(new Entry(id, version, 0));
            }
        });
        return new DocumentSetDiff(added, changed, removed);
    }

    /** Whether both sets hold the same ids at the same versions. */
    public boolean isEmpty() {
        return added.isEmpty() && changed.isEmpty() && removed.isEmpty();
    }

    public List<String> addedIds() {
        return added.stream().map(Entry::id).toList();
    }

    public List<String> changedIds() {
        return changed.stream().map(Entry::id).toList();
    }

    public List<String> removedIds() {
        return removed.stream().map(Entry::id).toList();
    }

    /**
     * One line for the log: {@code added [a v1], changed [b v2->v3], removed [c v4]}, or {@code no
     * differences}. At most {@value #LISTED_PER_KIND} ids per kind are named, the rest counted.
     */
    public String summary() {
        if (isEmpty()) {
            return "no differences";
        }
        List<String> parts = new ArrayList<>();
        part(parts, "added", added, e -> e.id() + " v" + e.to());
        part(parts, "changed", changed, e -> e.id() + " v" + e.from() + "->v" + e.to());
        part(parts, "removed", removed, e -> e.id() + " v" + e.from());
        return String.join(", ", parts);
    }

    private static void part(List<String> parts, String kind, List<Entry> entries,
            java.util.function.Function<Entry, String> format) {
        if (entries.isEmpty()) {
            return;
        }
        List<String> named = entries.stream().limit(LISTED_PER_KIND).map(format).toList();
        String more = entries.size() > LISTED_PER_KIND ? " and " + (entries.size() - LISTED_PER_KIND) + " more" : "";
        parts.add(kind + " [" + String.join(", ", named) + more + "]");
    }
}
