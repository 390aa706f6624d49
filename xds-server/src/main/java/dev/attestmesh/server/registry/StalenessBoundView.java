package dev.attestmesh.server.registry;

import dev.attestmesh.authz.NodeAuthzRecord;
import dev.attestmesh.authz.RegistryView;
import dev.attestmesh.server.store.ChangeNotifier;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The registry as the embedded ext_authz of a replica reads it: the same view, but {@linkplain
 * #unavailableReason() unavailable} once the replica has not heard other replicas' changes ({@link
 * ChangeNotifier#deafFor()}) for longer than {@code maxStaleness}. A replica on PostgreSQL whose {@code LISTEN}
 * connection is lost (the database stopped or unreachable) keeps deciding from what it holds in memory until
 * then, because a revocation made on another replica may meanwhile be missing from it; after that the decider
 * denies every Check with the reason, until the connection is back and the replica has reloaded the store.
 * The embedded H2 store has no other replicas, so its view is never stale. Thread-safe.
 */
public final class StalenessBoundView implements RegistryView {
    private final RegistryView registry;
    private final ChangeNotifier changes;
    private final Duration maxStaleness;

    /**
     * @param registry the replica's registry
     * @param changes its change notifier, which says how long it has been deaf to other replicas
     * @param maxStaleness how long decisions may rest on a view that may miss other replicas' changes
     */
    public StalenessBoundView(RegistryView registry, ChangeNotifier changes, Duration maxStaleness) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.changes = Objects.requireNonNull(changes, "changes");
        if (maxStaleness.isNegative() || maxStaleness.isZero()) {
            throw new IllegalArgumentException("max staleness must be positive, was " + maxStaleness);
        }
        this.maxStaleness = maxStaleness;
    }

    @Override
    public Optional<String> unavailableReason() {
        Optional<Duration> deaf = changes.deafFor();
        if (deaf.isPresent() && deaf.get().compareTo(maxStaleness) > 0) {
            return Optional.of("registry view is stale: this control plane has not heard the shared store's changes "
                    + "for " + deaf.get().toMillis() + " ms (limit attestmesh.database.max-staleness = "
                    + maxStaleness.toMillis() + " ms); denying until the store is reachable again");
        }
        return registry.unavailableReason();
    }

    @Override
    public Optional<NodeAuthzRecord> byNodeId(String id) {
        return registry.byNodeId(id);
    }

    @Override
    public List<NodeAuthzRecord> instancesOf(String spiffeId) {
        return registry.instancesOf(spiffeId);
    }

    @Override
    public OptionalLong currentPolicyVersion(String policyId) {
        return registry.currentPolicyVersion(policyId);
    }

    @Override
    public List<X509Certificate> trustBundle() {
        return registry.trustBundle();
    }

    @Override
    public List<String> requiredPolicies(String destinationPrincipal, int destinationPort) {
        return registry.requiredPolicies(destinationPrincipal, destinationPort);
    }

    @Override
    public boolean knowsDestination(String destinationPrincipal) {
        return registry.knowsDestination(destinationPrincipal);
    }

    @Override
    public void addChangeListener(Runnable onChange) {
        registry.addChangeListener(onChange);
    }

    @Override
    public void addTargetedChangeListener(java.util.function.Consumer<dev.attestmesh.authz.RegistryChange> onChange) {
        registry.addTargetedChangeListener(onChange);
    }
}
