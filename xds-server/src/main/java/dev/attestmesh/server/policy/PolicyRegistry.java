package dev.attestmesh.server.policy;

import dev.attestmesh.policy.Policy;
import dev.attestmesh.policy.PolicyDocuments;
import dev.attestmesh.policy.PolicyValidationException;
import dev.attestmesh.server.store.PolicyStore;
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
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The current, versioned policy set. Each policy's version starts at 1 and goes up by one whenever its
 * content changes, so claims appraised under an older version stop satisfying it at once.
 */
public final class PolicyRegistry {
    private final PolicyStore store;
    private final Clock clock;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private volatile Map<String, Policy> current = Map.of();

    public PolicyRegistry(PolicyStore store, Clock clock) {
        this.store = store;
        this.clock = clock;
        Map<String, Policy> loaded = new LinkedHashMap<>();
        for (PolicyStore.StoredPolicy sp : store.loadAll().values()) {
            try {
                for (Policy p : PolicyDocuments.parse(sp.document(), "stored policy " + sp.id())) {
                    loaded.put(p.id(), p.withVersion(sp.version()));
                }
            } catch (PolicyValidationException e) {
                throw new IllegalStateException("stored policy '" + sp.id() + "' no longer validates: "
                        + String.join("; ", e.problems()), e);
            }
        }
        current = Map.copyOf(loaded);
    }

    /**
     * Replaces the policy set as a whole: unchanged policies keep their version, changed ones get the
     * next version, new ones start at 1, missing ones are removed.
     */
    public synchronized void replace(Collection<Policy> policies) {
        Map<String, PolicyStore.StoredPolicy> stored = store.loadAll();
        Map<String, Policy> next = new LinkedHashMap<>();
        List<PolicyStore.StoredPolicy> rows = new ArrayList<>();
        for (Policy p : policies) {
            String doc = PolicyDocuments.toYaml(List.of(p.withVersion(1)));
            String sha = sha256(doc);
            PolicyStore.StoredPolicy old = stored.get(p.id());
            long version = old == null ? 1 : old.sha256().equals(sha) ? old.version() : old.version() + 1;
            next.put(p.id(), p.withVersion(version));
            rows.add(new PolicyStore.StoredPolicy(p.id(), version, doc, sha));
        }
        store.replaceAll(rows, clock.instant());
        boolean changed = !next.equals(current);
        current = Map.copyOf(next);
        if (changed) {
            listeners.forEach(Runnable::run);
        }
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
        listeners.add(r);
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
