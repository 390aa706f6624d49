package dev.attestmesh.server.registration;

import dev.attestmesh.identity.Registration;
import dev.attestmesh.identity.RegistrationDocuments;
import dev.attestmesh.identity.RegistrationValidationException;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.store.Change;
import dev.attestmesh.server.store.ChangeNotifier;
import dev.attestmesh.server.store.DocumentSetDiff;
import dev.attestmesh.server.store.RegistrationStore;
import dev.attestmesh.server.store.SeedResult;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The current, versioned registration set (docs/identity.md). A registration's version starts at 1 and
 * goes up by one whenever its content changes. Every write is validated as a whole (shape, trust
 * domain, reserved paths, unique IDs and SPIFFE IDs, policies that exist) and either replaces the set
 * or changes nothing. Listeners run after every change (the node registry re-checks every held
 * identity at once); replicas sharing the store tell each other and reload.
 */
public final class RegistrationRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(RegistrationRegistry.class);
    /**
     * Longest SPIFFE ID a registration may grant, in characters: what the node registry and the
     * issuance log store per node (columns {@code nodes.spiffe_id}, {@code issuance_log.spiffe_id}). A
     * template's {@value Registration#NODE_ID_PLACEHOLDER} counts as the longest node id (128).
     */
    public static final int MAX_SPIFFE_ID_CHARS = 512;
    private static final int MAX_NODE_ID_CHARS = 128;
    private final RegistrationStore store;
    private final PolicyRegistry policies;
    private final String trustDomain;
    private final Clock clock;
    private final ChangeNotifier changes;
    /** In the order added; each told whether the change came from another replica (true) or from this one. */
    private final List<java.util.function.Consumer<Boolean>> listeners = new CopyOnWriteArrayList<>();
    private volatile Map<String, Registration> current;

    public RegistrationRegistry(RegistrationStore store, PolicyRegistry policies, String trustDomain, Clock clock,
            ChangeNotifier changes) {
        this.store = store;
        this.policies = policies;
        this.trustDomain = trustDomain;
        this.clock = clock;
        this.changes = changes;
        this.current = parse(store.loadAll());
        changes.subscribe((change, origin) -> {
            if (change == Change.Topic.REGISTRATIONS && origin == ChangeNotifier.Origin.OTHER_REPLICA) {
                reload();
            }
        });
        warnAboutMissingPolicies();
        policies.addChangeListener(this::warnAboutMissingPolicies);
    }

    private Map<String, Registration> parse(Map<String, RegistrationStore.StoredRegistration> stored) {
        Map<String, Registration> out = new LinkedHashMap<>();
        for (RegistrationStore.StoredRegistration sr : stored.values()) {
            try {
                for (Registration r : RegistrationDocuments.parse(sr.document(), "stored registration " + sr.id(),
                        trustDomain)) {
                    out.put(r.id(), r.withVersion(sr.version()));
                }
            } catch (RegistrationValidationException e) {
                throw new IllegalStateException("stored registration '" + sr.id() + "' no longer validates (was the "
                        + "trust domain changed?): " + String.join("; ", e.problems()), e);
            }
        }
        return Map.copyOf(out);
    }

    private void reload() {
        synchronized (this) {
            Map<String, Registration> next = parse(store.loadAll());
            if (next.equals(current)) {
                return;
            }
            current = next;
        }
        fire(true);
    }

    /** Every registration in force. */
    public Collection<Registration> all() {
        return current.values();
    }

    public Optional<Registration> get(String id) {
        return Optional.ofNullable(current.get(id));
    }

    /** The trust domain every registration's SPIFFE ID belongs to. */
    public String trustDomain() {
        return trustDomain;
    }

    /** The length of the longest SPIFFE ID {@code r} can grant. */
    static int grantedLength(Registration r) {
        return r.perNode()
                ? r.spiffeId().length() - Registration.NODE_ID_PLACEHOLDER.length() + MAX_NODE_ID_CHARS
                : r.spiffeId().length();
    }

    /**
     * Problems that the document parser cannot see: policies that do not exist now, and SPIFFE IDs
     * longer than the store keeps per node ({@value #MAX_SPIFFE_ID_CHARS} characters). Checked on every
     * write, not when the stored set is read back, so a stored set always loads.
     *
     * @return every problem, with the registration's location
     */
    public List<String> crossCheck(List<Registration> registrations) {
        List<String> problems = new ArrayList<>(lengthProblems(registrations));
        problems.addAll(missingPolicies(registrations,
                policies.all().stream().map(dev.attestmesh.policy.Policy::id).collect(Collectors.toSet())));
        return problems;
    }

    /**
     * SPIFFE IDs longer than the store keeps per node: a problem of the registrations themselves, whatever
     * the policies (a registration file is refused for it at start even when it is not written).
     */
    public static List<String> lengthProblems(List<Registration> registrations) {
        List<String> problems = new ArrayList<>();
        for (Registration r : registrations) {
            int granted = grantedLength(r);
            if (granted > MAX_SPIFFE_ID_CHARS) {
                problems.add("registration '" + r.id() + "': the SPIFFE ID it grants can be " + granted
                        + " characters long" + (r.perNode() ? " (with " + Registration.NODE_ID_PLACEHOLDER
                        + " replaced by a node id of " + MAX_NODE_ID_CHARS + ")" : "") + "; at most "
                        + MAX_SPIFFE_ID_CHARS + " are accepted");
            }
        }
        return problems;
    }

    /** Policies the registrations require that are not in {@code policyIds}. */
    public static List<String> missingPolicies(List<Registration> registrations, Set<String> policyIds) {
        List<String> problems = new ArrayList<>();
        for (Registration r : registrations) {
            for (String p : r.policies()) {
                if (!policyIds.contains(p)) {
                    problems.add("registration '" + r.id() + "': policy '" + p + "' does not exist (create it first)");
                }
            }
        }
        return problems;
    }

    /**
     * Replaces the whole set. Unchanged registrations keep their version, changed ones get the next,
     * new ones start at 1, missing ones are removed.
     *
     * @return what changed against the stored set the versions were derived from
     * @throws RegistrationValidationException when {@link #crossCheck} finds problems (nothing changes)
     */
    public DocumentSetDiff replace(List<Registration> registrations) throws RegistrationValidationException {
        List<String> problems = crossCheck(registrations);
        if (!problems.isEmpty()) {
            throw new RegistrationValidationException("registrations", problems);
        }
        boolean changed;
        DocumentSetDiff diff;
        synchronized (this) {
            Map<String, Registration> next = new LinkedHashMap<>();
            Map<String, Long> before = new LinkedHashMap<>();
            store.replaceAll(stored -> {
                next.clear();
                before.clear();
                stored.forEach((id, sr) -> before.put(id, sr.version()));
                List<RegistrationStore.StoredRegistration> rows = new ArrayList<>();
                for (Registration r : registrations) {
                    String doc = RegistrationDocuments.toYaml(List.of(r.withVersion(1)));
                    String sha = sha256(doc);
                    long version = nextVersion(stored.get(r.id()), sha);
                    next.put(r.id(), r.withVersion(version));
                    rows.add(new RegistrationStore.StoredRegistration(r.id(), version, r.spiffeId(), doc, sha));
                }
                return rows;
            }, clock.instant());
            diff = DocumentSetDiff.ofVersions(before, versions(next));
            changed = !next.equals(current);
            current = Map.copyOf(next);
        }
        if (changed) {
            LOG.info("registrations replaced: {} in force", current.size());
            fire(false);
            changes.publish(Change.Topic.REGISTRATIONS);
        }
        return diff;
    }

    /**
     * Writes {@code registrations} (each at version 1) only when the store holds none yet, deciding under
     * the store's registrations lock, so replicas starting together on an empty database seed it once.
     * When the store holds registrations it is left alone (this registry then shows the stored set) and
     * the result tells how the offered set differs from it.
     *
     * @throws RegistrationValidationException when the set would be written and {@link #crossCheck} finds
     *     problems (nothing is written); SPIFFE IDs that are too long are refused even when it would not be
     */
    public SeedResult seed(List<Registration> registrations) throws RegistrationValidationException {
        List<String> tooLong = lengthProblems(registrations);
        if (!tooLong.isEmpty()) {
            throw new RegistrationValidationException("registrations", tooLong);
        }
        Map<String, Registration> offered = new LinkedHashMap<>();
        Map<String, String> shas = new LinkedHashMap<>();
        List<RegistrationStore.StoredRegistration> rows = new ArrayList<>();
        for (Registration r : registrations) {
            String doc = RegistrationDocuments.toYaml(List.of(r.withVersion(1)));
            String sha = sha256(doc);
            offered.put(r.id(), r.withVersion(1));
            shas.put(r.id(), sha);
            rows.add(new RegistrationStore.StoredRegistration(r.id(), 1, r.spiffeId(), doc, sha));
        }
        boolean changed;
        SeedResult result;
        synchronized (this) {
            Map<String, RegistrationStore.StoredRegistration> before;
            try {
                // The policies a written set needs are checked only when it is written: a set that is not written
                // may name policies the admin API has removed since.
                before = store.writeIfEmpty(() -> {
                    List<String> problems = crossCheck(registrations);
                    if (!problems.isEmpty()) {
                        throw new SeedRefused(new RegistrationValidationException("registrations", problems));
                    }
                    return rows;
                }, clock.instant());
            } catch (SeedRefused e) {
                throw e.refusal;
            }
            Map<String, Registration> now;
            if (before.isEmpty()) {
                now = Map.copyOf(offered);
                result = new SeedResult(true, 0, DocumentSetDiff.ofVersions(Map.of(), versions(offered)));
            } else {
                now = parse(before); // another replica may have seeded since this registry loaded
                Map<String, Long> stored = new LinkedHashMap<>();
                before.forEach((id, sr) -> stored.put(id, sr.version()));
                Map<String, Long> would = new LinkedHashMap<>();
                shas.forEach((id, sha) -> would.put(id, nextVersion(before.get(id), sha)));
                result = new SeedResult(false, before.size(), DocumentSetDiff.ofVersions(stored, would));
            }
            changed = !now.equals(current);
            current = now;
        }
        if (changed) {
            if (result.written()) {
                LOG.info("registrations seeded: {} in force", current.size());
            }
            fire(false);
            if (result.written()) {
                changes.publish(Change.Topic.REGISTRATIONS);
            }
        }
        return result;
    }

    /** Carries a validation failure out of the store's transaction (which then writes nothing). */
    private static final class SeedRefused extends RuntimeException {
        final RegistrationValidationException refusal;

        SeedRefused(RegistrationValidationException refusal) {
            super(refusal.getMessage(), refusal, false, false);
            this.refusal = refusal;
        }
    }

    private static long nextVersion(RegistrationStore.StoredRegistration old, String sha) {
        return old == null ? 1 : old.sha256().equals(sha) ? old.version() : old.version() + 1;
    }

    private static Map<String, Long> versions(Map<String, Registration> registrations) {
        Map<String, Long> out = new LinkedHashMap<>();
        registrations.forEach((id, r) -> out.put(id, r.version()));
        return out;
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

    private void warnAboutMissingPolicies() {
        for (Registration r : current.values()) {
            for (String p : r.policies()) {
                if (policies.get(p).isEmpty()) {
                    LOG.warn("registration '{}' requires policy '{}', which does not exist: no node can hold {} until "
                            + "the policy returns or the registration changes", r.id(), p, r.spiffeId());
                }
            }
        }
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
