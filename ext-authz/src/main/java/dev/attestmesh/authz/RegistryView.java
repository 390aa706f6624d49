package dev.attestmesh.authz;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The part of the node registry ext_authz reads. Implemented by the control plane's registry when
 * ext_authz runs embedded, and by a replica fed from {@code WatchRegistry} when it runs standalone.
 * Implementations are thread-safe and must call every change listener after any change that could
 * alter a decision (node state, certificates, policy versions, trust bundle, mesh config), and after the
 * view itself reflects it.
 */
public interface RegistryView {
    Optional<NodeAuthzRecord> byNodeId(String id);

    /**
     * Every instance recorded under {@code spiffeId}, in any state (several pods may share one
     * SPIFFE ID). Decisions by principal admit the principal only when every instance whose
     * certificate has not expired passes, so a revoked sibling denies the principal (fail closed).
     */
    List<NodeAuthzRecord> instancesOf(String spiffeId);

    /** The current version of a policy, empty when no such policy exists. */
    OptionalLong currentPolicyVersion(String policyId);

    /** The current mesh trust bundle: root(s) and issuing intermediates (including ones in rotation overlap). */
    List<X509Certificate> trustBundle();

    /**
     * Policies the mesh config requires for connections to {@code destinationPrincipal} on {@code
     * destinationPort}; empty when none are configured. Used when Envoy sends no policy header, and
     * only for a destination this view {@linkplain #knowsDestination knows}.
     */
    List<String> requiredPolicies(String destinationPrincipal, int destinationPort);

    /**
     * Whether this view knows the destination: some node is recorded under {@code destinationPrincipal}.
     * Only then does an empty {@link #requiredPolicies} mean "the mesh config requires nothing"; for a
     * destination the view does not know (not synced yet, or no such node) it means nothing, and a Check
     * that relies on the mesh config is denied (fail closed). Must be cheap: it is asked on every such
     * Check, cached decisions included.
     */
    default boolean knowsDestination(String destinationPrincipal) {
        return !instancesOf(destinationPrincipal).isEmpty();
    }

    /** Registers a callback run after every change. */
    void addChangeListener(Runnable onChange);

    /**
     * Registers a callback run after every change with what it may have altered ({@link RegistryChange}): the
     * decision cache then drops only the decisions that read the changed nodes or principals. A view that cannot
     * tell (the default) reports every change as {@link RegistryChange#EVERYTHING}. A view that overrides this must
     * name, for each changed node, every principal it was or is recorded under, and report everything else
     * (policy versions, trust bundle, mesh config, resynchronisation, staleness) as a change of everything.
     */
    default void addTargetedChangeListener(java.util.function.Consumer<RegistryChange> onChange) {
        addChangeListener(() -> onChange.accept(RegistryChange.EVERYTHING));
    }

    /**
     * Why this view must not be used for decisions right now, empty when it may. A standalone
     * replica that has not heard from the control plane for longer than its staleness limit returns
     * a reason here, and the decider then denies every check with it (fail closed). The embedded
     * registry is always current, hence the default.
     */
    default Optional<String> unavailableReason() {
        return Optional.empty();
    }
}
