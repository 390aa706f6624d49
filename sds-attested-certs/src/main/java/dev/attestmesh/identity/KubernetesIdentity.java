package dev.attestmesh.identity;

import java.util.Objects;

/**
 * A Kubernetes workload identity proven by a verified projected service-account token: what the
 * token's {@code kubernetes.io} claim says, after its signature, issuer, audience and lifetime were
 * checked. Never built from request fields.
 *
 * @param namespace the pod's namespace (DNS label)
 * @param serviceAccount the pod's service account (DNS subdomain)
 * @param podName the pod's name
 * @param podUid the pod's UID: the node id of a Kubernetes workload (names repeat across namespaces
 *     and restarts; UIDs do not)
 */
public record KubernetesIdentity(String namespace, String serviceAccount, String podName, String podUid) {
    public KubernetesIdentity {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(serviceAccount, "serviceAccount");
        Objects.requireNonNull(podName, "podName");
        Objects.requireNonNull(podUid, "podUid");
    }
}
