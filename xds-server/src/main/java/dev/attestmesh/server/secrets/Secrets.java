package dev.attestmesh.server.secrets;

import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.registration.RegistrationRegistry;
import dev.attestmesh.server.store.Change;
import dev.attestmesh.server.store.ChangeNotifier;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The operator secrets (docs/secrets.md): validated writes, sealed storage, and the metadata the admin API shows.
 * Values go in and never come out of this class except through {@link SecretReleases}, to attested nodes.
 *
 * <p>Every write is validated completely before anything is stored (name, size, number of clauses, and that each
 * clause names an existing registration or policy), and stored in one transaction: a refused or failed write
 * leaves the store as it was. After a change, listeners run (the xDS snapshots are rebuilt) and the other
 * replicas are told ({@link Change.Topic#SECRETS}).
 */
public final class Secrets {
    private final SecretStore store;
    private final SecretVault vault;
    private final PolicyRegistry policies;
    private final RegistrationRegistry registrations;
    private final ChangeNotifier changes;
    private final Clock clock;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    /**
     * The metadata and opened current values, read once per change: snapshots are rebuilt for every node on every
     * registry change, and must not cost store reads and decryptions per node. Null until read or after a change.
     */
    private volatile Cache cache;
    /** Bumped by every change, so a read that overlapped a change is never cached. Guarded by this for writes. */
    private final java.util.concurrent.atomic.AtomicLong generation = new java.util.concurrent.atomic.AtomicLong();

    private record Cache(List<SecretMetadata> metadata, java.util.Map<String, byte[]> values) {}

    public Secrets(SecretStore store, SecretVault vault, PolicyRegistry policies, RegistrationRegistry registrations,
            ChangeNotifier changes, Clock clock) {
        this.store = store;
        this.vault = vault;
        this.policies = policies;
        this.registrations = registrations;
        this.changes = changes;
        this.clock = clock;
    }

    /** Runs {@code r} after every change of any secret (also after another replica's, once told). */
    public void addChangeListener(Runnable r) {
        listeners.add(r);
    }

    /** Tells the listeners that another replica changed the secrets. */
    public void changedElsewhere() {
        invalidate();
        listeners.forEach(Runnable::run);
    }

    /**
     * Stores {@code value} as the next version of {@code name} with the access rule {@code allow} and the import
     * permissions {@code exports}. A new version replaces the released one at once: the next SDS push and the next
     * renewal of every node carry it.
     *
     * @throws SecretValidationException listing every problem; nothing is stored
     */
    public SecretMetadata put(String name, byte[] value, List<String> allow, List<String> exports)
            throws SecretValidationException {
        List<String> problems = new ArrayList<>();
        try {
            SecretLimits.requireName(name);
            if (name.startsWith(SealingKeys.RELEASE_PREFIX)) {
                problems.add("secret names starting with '" + SealingKeys.RELEASE_PREFIX + "' are reserved for policy "
                        + "sealing keys");
            }
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        if (value.length == 0) {
            problems.add("the secret value is empty");
        } else if (value.length > SecretLimits.MAX_VALUE_BYTES) {
            problems.add("the secret value is " + value.length + " bytes; at most " + SecretLimits.MAX_VALUE_BYTES
                    + " (64 KiB) are accepted");
        }
        if (allow.isEmpty()) {
            problems.add("at least one --allow rule (registration:<id> or policy:<id>) is required: a secret no node "
                    + "may receive is refused");
        }
        List<SecretRule> allowRules = rules("allow", allow, problems);
        List<SecretRule> exportRules = rules("export", exports, problems);
        if (problems.isEmpty() && store.get(name).isEmpty() && store.all().size() >= SecretLimits.MAX_SECRETS) {
            problems.add("at most " + SecretLimits.MAX_SECRETS + " secrets are stored; delete one first");
        }
        if (!problems.isEmpty()) {
            throw new SecretValidationException(problems);
        }
        byte[] copy = value.clone();
        try {
            store.putVersion(name, allowRules, exportRules, v -> vault.seal(name, v, copy), copy.length,
                    clock.instant());
        } finally {
            java.util.Arrays.fill(copy, (byte) 0);
        }
        changed();
        return store.get(name).orElseThrow();
    }

    /**
     * Imports secret {@code name} into the access rule {@code into} (SCONE-style sharing by reference): nodes
     * satisfying {@code into} receive the owner's current version, but only while the owner's export list names
     * {@code into}. The owner's rule is never widened beyond what it exports.
     *
     * @throws SecretValidationException when the secret does not exist, does not export to {@code into}, the
     *     clause is unknown, or the import limit is reached; nothing is stored
     */
    public SecretMetadata importInto(String name, String into) throws SecretValidationException {
        List<String> problems = new ArrayList<>();
        List<SecretRule> rule = rules("import", List.of(into), problems);
        Optional<SecretMetadata> owner = store.get(name);
        if (owner.isEmpty()) {
            problems.add("no secret named '" + SecretLimits.printable(name) + "'");
        } else if (problems.isEmpty()) {
            SecretMetadata m = owner.get();
            if (!m.exports().contains(rule.getFirst())) {
                problems.add("secret '" + name + "' does not export to " + rule.getFirst() + " (it exports to "
                        + (m.exports().isEmpty() ? "nothing" : m.exports()) + "); its owner must add --export "
                        + rule.getFirst() + " first");
            } else if (!m.imports().contains(rule.getFirst()) && m.imports().size() >= SecretLimits.MAX_IMPORTS) {
                problems.add("secret '" + name + "' already has " + SecretLimits.MAX_IMPORTS + " imports, the most "
                        + "accepted");
            }
        }
        if (!problems.isEmpty()) {
            throw new SecretValidationException(problems);
        }
        LinkedHashSet<SecretRule> next = new LinkedHashSet<>(owner.get().imports());
        if (next.add(rule.getFirst())) {
            store.setImports(name, List.copyOf(next), clock.instant());
            changed();
        }
        return store.get(name).orElseThrow();
    }

    /** Removes an import; empty when there is no such secret. */
    public Optional<SecretMetadata> dropImport(String name, SecretRule rule) {
        Optional<SecretMetadata> m = store.get(name);
        if (m.isEmpty()) {
            return Optional.empty();
        }
        List<SecretRule> next = new ArrayList<>(m.get().imports());
        if (next.remove(rule)) {
            store.setImports(name, next, clock.instant());
            changed();
        }
        return store.get(name);
    }

    /** Deletes the secret; it leaves every node on the next push and renewal. False when there was none. */
    public boolean delete(String name) {
        boolean deleted = store.delete(name);
        if (deleted) {
            changed();
        }
        return deleted;
    }

    public List<SecretMetadata> all() {
        return cached().metadata();
    }

    private Cache cached() {
        Cache c = cache;
        if (c == null) {
            long g = generation.get();
            c = new Cache(store.all(), new java.util.concurrent.ConcurrentHashMap<>());
            synchronized (this) {
                if (generation.get() == g) {
                    cache = c;
                }
            }
        }
        return c;
    }

    public Optional<SecretMetadata> get(String name) {
        return SecretLimits.NAME.matcher(name).matches() ? store.get(name) : Optional.empty();
    }

    /** The current value of a secret, for {@link SecretReleases} only. */
    byte[] currentValue(SecretMetadata m) {
        Cache c = cached();
        String key = m.name() + "@" + m.currentVersion();
        byte[] known = c.values().get(key);
        if (known != null) {
            return known;
        }
        byte[] value = open(m);
        c.values().put(key, value);
        return value;
    }

    private byte[] open(SecretMetadata m) {
        byte[] sealed = store.sealed(m.name(), m.currentVersion()).orElseThrow(() -> new SecretStoreException(
                "secret '" + m.name() + "' v" + m.currentVersion() + " is missing from the store"));
        return vault.open(m.name(), m.currentVersion(), sealed);
    }

    private List<SecretRule> rules(String what, List<String> texts, List<String> problems) {
        if (texts.size() > SecretLimits.MAX_RULES) {
            problems.add(texts.size() + " " + what + " rules given; at most " + SecretLimits.MAX_RULES);
            return List.of();
        }
        LinkedHashSet<SecretRule> out = new LinkedHashSet<>();
        for (String t : texts) {
            SecretRule r;
            try {
                r = SecretRule.parse(t);
            } catch (IllegalArgumentException e) {
                problems.add(e.getMessage());
                continue;
            }
            boolean known = switch (r.kind()) {
                case REGISTRATION -> registrations.get(r.id()).isPresent();
                case POLICY -> policies.get(r.id()).isPresent();
            };
            if (!known) {
                problems.add(what + " rule " + r + " names no existing " + r.kind().prefix()
                        + " (create it first, or fix the id)");
            }
            out.add(r);
        }
        return List.copyOf(out);
    }

    private synchronized void invalidate() {
        generation.incrementAndGet();
        cache = null;
    }

    private void changed() {
        invalidate();
        changes.publish(Change.Topic.SECRETS);
        listeners.forEach(Runnable::run);
    }
}
