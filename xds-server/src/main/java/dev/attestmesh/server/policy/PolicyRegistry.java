package dev.attestmesh.server.policy;

import dev.attestmesh.policy.Policy;
import dev.attestmesh.policy.PolicyDocuments;
import dev.attestmesh.policy.PolicyValidationException;
import dev.attestmesh.server.store.Change;
import dev.attestmesh.server.store.ChangeNotifier;
import dev.attestmesh.server.store.DocumentSetDiff;
import dev.attestmesh.server.store.InProcessChangeNotifier;
import dev.attestmesh.server.store.PolicyStore;
import dev.attestmesh.server.store.SeedResult;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The current, versioned policy set. Each policy's version starts at 1 and goes up by one whenever its
 * content changes, so claims appraised under an older version stop satisfying it at once. Replicas
 * sharing a store tell each other of changes ({@link ChangeNotifier}) and reload the set.
 */
public final class PolicyRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(PolicyRegistry.class);
    /**
     * Most policies in force at once. A node's satisfied policies (id=version each, up to 84 characters)
     * are stored in one column of 4096 characters ({@code nodes.satisfied_policies}, and the policy IDs
     * in {@code issuance_log.policy_ids}); this many always fit.
     */
    public static final int MAX_POLICIES = 32;
    private final PolicyStore store;
    private final Clock clock;
    /** In the order added; each told whether the change came from another replica (true) or from this one. */
    private final List<java.util.function.Consumer<Boolean>> listeners = new CopyOnWriteArrayList<>();
    private final ChangeNotifier changes;
    private volatile Map<String, Policy> current = Map.of();
    private final PolicyRules rules;

    /** A registry whose changes are told only within this process. */
    public PolicyRegistry(PolicyStore store, Clock clock) {
        this(store, clock, new InProcessChangeNotifier());
    }

    /**
     * A registry that announces policy changes through {@code changes} ({@code policies}) and reloads
     * the set when another replica changed it, firing its listeners when anything differs.
     */
    public PolicyRegistry(PolicyStore store, Clock clock, ChangeNotifier changes) {
        this(store, clock, changes, PolicyRules.DEV);
    }

    /**
     * A registry that also enforces {@code rules} on every policy set written (see {@link PolicyRules}
     * for what happens to stored policies the rules no longer allow).
     */
    public PolicyRegistry(PolicyStore store, Clock clock, ChangeNotifier changes, PolicyRules rules) {
        this.store = store;
        this.clock = clock;
        this.changes = changes;
        this.rules = rules;
        current = parse(store.loadAll());
        for (String problem : rules.problems(current.values())) {
            LOG.warn("stored {}; it stays stored, but {}", problem, problem.contains("'sim'")
                    ? "no simulated evidence is verified outside dev mode, so nothing satisfies it"
                    : "certificates issued under it live at most the maximum");
        }
        changes.subscribe((change, origin) -> {
            if (change == Change.Topic.POLICIES && origin == ChangeNotifier.Origin.OTHER_REPLICA) {
                reload();
            }
        });
    }

    private Map<String, Policy> parse(Map<String, PolicyStore.StoredPolicy> stored) {
        Map<String, Policy> loaded = new LinkedHashMap<>();
        for (PolicyStore.StoredPolicy sp : stored.values()) {
            try {
                for (Policy p : PolicyDocuments.parse(sp.document(), "stored policy " + sp.id())) {
                    loaded.put(p.id(), rules.clamp(p.withVersion(sp.version())));
                }
            } catch (PolicyValidationException e) {
                throw new IllegalStateException("stored policy '" + sp.id() + "' no longer validates: "
                        + String.join("; ", e.problems()), e);
            }
        }
        return Map.copyOf(loaded);
    }

    /** Reloads the stored set (changed by another replica); fires the listeners if it differs. */
    private void reload() {
        Map<String, Policy> next;
        synchronized (this) {
            next = parse(store.loadAll());
            if (next.equals(current)) {
                return;
            }
            current = next;
        }
        fire(true);
    }

    /**
     * What stops {@code policies} from being written: more than {@value #MAX_POLICIES} policies, or a
     * policy the rules do not allow (simulated TEE outside dev mode, a certificate TTL above the bound).
     * Checked on every write; a policy file is checked with it at start even when it is not written.
     *
     * @return every problem, empty when the set may be written
     */
    public List<String> problems(Collection<Policy> policies) {
        List<String> problems = new ArrayList<>();
        if (policies.size() > MAX_POLICIES) {
            problems.add("the policy set would hold " + policies.size() + " policies, more than the limit of "
                    + MAX_POLICIES);
        }
        problems.addAll(rules.problems(policies));
        return problems;
    }

    private void checkWritable(Collection<Policy> policies) throws PolicyValidationException {
        if (policies.size() > MAX_POLICIES) {
            throw new IllegalArgumentException("the policy set would hold " + policies.size() + " policies, more than "
                    + "the limit of " + MAX_POLICIES + "; nothing was changed");
        }
        List<String> problems = rules.problems(policies);
        if (!problems.isEmpty()) {
            throw new PolicyValidationException("policy set", problems);
        }
    }

    /**
     * Replaces the policy set as a whole: unchanged policies keep their version, changed ones get the
     * next version, new ones start at 1, missing ones are removed. Versions are derived from the
     * stored set under the store's policies lock, so replicas replacing at once never reuse a version.
     *
     * @return what changed against the stored set the versions were derived from
     * @throws IllegalArgumentException when the set holds more than {@value #MAX_POLICIES} policies
     *     (nothing changes)
     */
    public DocumentSetDiff replace(Collection<Policy> policies) throws PolicyValidationException {
        checkWritable(policies);
        boolean changed;
        DocumentSetDiff diff;
        synchronized (this) {
            Map<String, Policy> next = new LinkedHashMap<>();
            Map<String, Long> before = new LinkedHashMap<>();
            store.replaceAll(stored -> {
                next.clear();
                before.clear();
                stored.forEach((id, sp) -> before.put(id, sp.version()));
                List<PolicyStore.StoredPolicy> rows = new ArrayList<>();
                for (Policy p : policies) {
                    String doc = PolicyDocuments.toYaml(List.of(p.withVersion(1)));
                    String sha = sha256(doc);
                    long version = nextVersion(stored.get(p.id()), sha);
                    next.put(p.id(), p.withVersion(version));
                    rows.add(new PolicyStore.StoredPolicy(p.id(), version, doc, sha));
                }
                return rows;
            }, clock.instant());
            diff = DocumentSetDiff.ofVersions(before, versions(next));
            changed = !next.equals(current);
            current = Map.copyOf(next);
        }
        if (changed) {
            fire(false);
            changes.publish(Change.Topic.POLICIES);
        }
        return diff;
    }

    /**
     * Writes {@code policies} (each at version 1) only when the store holds no policy yet, deciding under
     * the store's policies lock, so replicas starting together on an empty database seed it once. When
     * the store holds policies it is left alone (this registry then shows the stored set) and the result
     * tells how the offered set differs from it.
     *
     * @throws IllegalArgumentException when the set holds more than {@value #MAX_POLICIES} policies
     * @throws PolicyValidationException when the rules refuse a policy (nothing is written)
     */
    public SeedResult seed(Collection<Policy> policies) throws PolicyValidationException {
        checkWritable(policies);
        Map<String, Policy> offered = new LinkedHashMap<>();
        Map<String, String> shas = new LinkedHashMap<>();
        List<PolicyStore.StoredPolicy> rows = new ArrayList<>();
        for (Policy p : policies) {
            String doc = PolicyDocuments.toYaml(List.of(p.withVersion(1)));
            String sha = sha256(doc);
            offered.put(p.id(), p.withVersion(1));
            shas.put(p.id(), sha);
            rows.add(new PolicyStore.StoredPolicy(p.id(), 1, doc, sha));
        }
        boolean changed;
        SeedResult result;
        synchronized (this) {
            Map<String, PolicyStore.StoredPolicy> before = store.writeIfEmpty(rows, clock.instant());
            Map<String, Policy> now;
            if (before.isEmpty()) {
                now = Map.copyOf(offered);
                result = new SeedResult(true, 0, DocumentSetDiff.ofVersions(Map.of(), versions(offered)));
            } else {
                now = parse(before); // another replica may have seeded since this registry loaded
                Map<String, Long> stored = new LinkedHashMap<>();
                before.forEach((id, sp) -> stored.put(id, sp.version()));
                Map<String, Long> would = new LinkedHashMap<>();
                shas.forEach((id, sha) -> would.put(id, nextVersion(before.get(id), sha)));
                result = new SeedResult(false, before.size(), DocumentSetDiff.ofVersions(stored, would));
            }
            changed = !now.equals(current);
            current = now;
        }
        if (changed) {
            fire(false);
            if (result.written()) {
                changes.publish(Change.Topic.POLICIES);
            }
        }
        return result;
    }

    /** The version a policy with document hash {@code sha} gets when it replaces {@code old} (absent: null). */
    private static long nextVersion(PolicyStore.StoredPolicy old, String sha) {
        return old == null ? 1 : old.sha256().equals(sha) ? old.version() : old.version() + 1;
    }

    private static Map<String, Long> versions(Map<String, Policy> policies) {
        Map<String, Long> out = new LinkedHashMap<>();
        policies.forEach((id, p) -> out.put(id, p.version()));
        return out;
    }

    public Collection<Policy> all() {
        return current.values();
    }

    public Optional<Policy> get(String id) {
        return Optional.ofNullable(current.get(id));
    }

    public OptionalLong version(String id) {
        Policy p = current.get(id);
        return p == null ? OptionalLong.empty() : OptionalLong.of(p.version());
    }

    public void addChangeListener(Runnable r) {
        listeners.add(byAnotherReplica -> r.run());
    }

    /**
     * Like {@link #addChangeListener}, told whether the change was made by another replica (and reloaded from
     * the shared store here) or by this one.
     */
    public void addOriginChangeListener(java.util.function.Consumer<Boolean> byAnotherReplica) {
        listeners.add(byAnotherReplica);
    }

    private void fire(boolean byAnotherReplica) {
        listeners.forEach(l -> l.accept(byAnotherReplica));
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
