package dev.attestmesh.identity;

/**
 * Verifies a Kubernetes projected service-account token presented with a Challenge and returns the
 * workload identity it proves. Implementations check the signature against the cluster issuer's keys,
 * the issuer, the audience, the lifetime and the pod binding, and are thread-safe.
 */
@FunctionalInterface
public interface ServiceAccountTokenVerifier {
    /** Refuses every token: the control plane was not configured for Kubernetes. */
    ServiceAccountTokenVerifier DISABLED = token -> {
        throw new TokenRejectedException("this control plane does not accept Kubernetes service-account tokens "
                + "(configure attestmesh.kubernetes.*, see docs/identity.md)");
    };

    /**
     * @throws TokenRejectedException naming the check that failed (never echoing the token)
     */
    KubernetesIdentity verify(String token) throws TokenRejectedException;
}
