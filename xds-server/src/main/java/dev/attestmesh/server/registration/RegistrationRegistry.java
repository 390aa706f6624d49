package dev.attestmesh.server.registration;

import dev.attestmesh.identity.Registration;
import dev.attestmesh.identity.RegistrationDocuments;
import dev.attestmesh.identity.RegistrationValidationException;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.store.Change;
import dev.attestmesh.server.store.ChangeNotifier;
import dev.attestmesh.server.store.RegistrationStore;
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
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
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
        listeners.forEach(Runnable::run);
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
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < registrations.size(); i++) {
            Registration r = registrations.get(i);
            int granted = grantedLength(r);
            if (granted > MAX_SPIFFE_ID_CHARS) {
                problems.add("registration '" + r.id() + "': the SPIFFE ID it grants can be " + granted
                        + " characters long" + (r.perNode() ? " (with " + Registration.NODE_ID_PLACEHOLDER
                        + " replaced by a node id of " + MAX_NODE_ID_CHARS + ")" : "") + "; at most "
                        + MAX_SPIFFE_ID_CHARS + " are accepted");
            }
            for (String p : r.policies()) {
                if (policies.get(p).isEmpty()) {
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
     * @throws RegistrationValidationException when {@link #crossCheck} finds problems (nothing changes)
     */
    public void replace(List<Registration> registrations) throws RegistrationValidationException {
        List<String> problems = crossCheck(registrations);
        if (!problems.isEmpty()) {
            throw new RegistrationValidationException("registrations", problems);
        }
        boolean changed;
        synchronized (this) {
            Map<String, Registration> next = new LinkedHashMap<>();
            store.replaceAll(stored -> {
                next.clear();
                List<RegistrationStore.StoredRegistration> rows = new ArrayList<>();
                for (Registration r : registrations) {
                    String doc = RegistrationDocuments.toYaml(List.of(r.withVersion(1)));
                    String sha = sha256(doc);
                    RegistrationStore.StoredRegistration old = stored.get(r.id());
                    long version = old == null ? 1 : old.sha256().equals(sha) ? old.version() : old.version() + 1;
                    next.put(r.id(), r.withVersion(version));
                    rows.add(new RegistrationStore.StoredRegistration(r.id(), version, r.spiffeId(), doc, sha));
                }
                return rows;
            }, clock.instant());
            changed = !next.equals(current);
            current = Map.copyOf(next);
        }
        if (changed) {
            LOG.info("registrations replaced: {} in force", current.size());
            listeners.forEach(Runnable::run);
            changes.publish(Change.Topic.REGISTRATIONS);
        }
    }

    public void addChangeListener(Runnable r) {
        listeners.add(r);
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
