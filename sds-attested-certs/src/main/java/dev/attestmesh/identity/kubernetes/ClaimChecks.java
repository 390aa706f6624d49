package dev.attestmesh.identity.kubernetes;

import com.nimbusds.jwt.JWTClaimsSet;
import dev.attestmesh.identity.KubernetesIdentity;
import dev.attestmesh.identity.TokenRejectedException;
import dev.attestmesh.input.UntrustedText;
import java.util.Map;
import java.util.regex.Pattern;

/** The Kubernetes-specific claim checks: the pod binding, the names' formats and {@code sub}. */
final class ClaimChecks {
    static final String KUBERNETES_CLAIM = "kubernetes.io";
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern DNS_SUBDOMAIN =
            Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
    // Kubernetes writes UIDs in lower case; accepting only that keeps one spelling per node id.
    private static final Pattern UUID =
            Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

    private ClaimChecks() {}

    /**
     * The identity a (signature-checked) claims set proves: {@code kubernetes.io} with namespace, service
     * account and pod, each well-formed, and {@code sub} naming the same service account.
     */
    static KubernetesIdentity podBinding(JWTClaimsSet claims) throws TokenRejectedException {
        Object k8s = claims.getClaim(KUBERNETES_CLAIM);
        if (!(k8s instanceof Map<?, ?> binding)) {
            throw new TokenRejectedException("pod binding check failed: the token has no 'kubernetes.io' claim; "
                    + "present a projected service-account token (serviceAccountToken volume, audience attestmesh)");
        }
        String namespace = string(binding.get("namespace"), "kubernetes.io.namespace");
        String serviceAccount = string(field(binding, "serviceaccount", "name"), "kubernetes.io.serviceaccount.name");
        if (!(binding.get("pod") instanceof Map<?, ?>)) {
            throw new TokenRejectedException("pod binding check failed: the token is not bound to a pod (no "
                    + "'kubernetes.io.pod' claim), so it could be replayed from anywhere; mount a projected "
                    + "serviceAccountToken volume in the pod instead of a TokenRequest for the service account");
        }
        String podName = string(field(binding, "pod", "name"), "kubernetes.io.pod.name");
        String podUid = string(field(binding, "pod", "uid"), "kubernetes.io.pod.uid");
        requireFormat(namespace, DNS_LABEL, 63, "kubernetes.io.namespace", "a DNS label (at most 63 of a-z 0-9 -)");
        requireFormat(serviceAccount, DNS_SUBDOMAIN, 253, "kubernetes.io.serviceaccount.name",
                "a DNS subdomain (at most 253 of a-z 0-9 - .)");
        requireFormat(podName, DNS_SUBDOMAIN, 253, "kubernetes.io.pod.name",
                "a DNS subdomain (at most 253 of a-z 0-9 - .)");
        requireFormat(podUid, UUID, 36, "kubernetes.io.pod.uid", "a lower-case UUID");
        String expectedSub = subject(namespace, serviceAccount);
        String sub = claims.getSubject();
        if (!expectedSub.equals(sub)) {
            throw new TokenRejectedException("subject check failed: 'sub' is '" + sanitize(sub, 80) + "' but the "
                    + "kubernetes.io claim names " + expectedSub + "; the token was not issued for that service account");
        }
        return new KubernetesIdentity(namespace, serviceAccount, podName, podUid);
    }

    /** {@code system:serviceaccount:<ns>:<sa>}, the username Kubernetes gives a service account. */
    static String subject(String namespace, String serviceAccount) {
        return "system:serviceaccount:" + namespace + ":" + serviceAccount;
    }

    /** {@code value} fit for an error message: {@link UntrustedText#forLog(String, int)}. */
    static String sanitize(String value, int max) {
        return UntrustedText.forLog(value, max);
    }

    private static Object field(Map<?, ?> binding, String object, String name) {
        return binding.get(object) instanceof Map<?, ?> m ? m.get(name) : null;
    }

    private static String string(Object value, String claim) throws TokenRejectedException {
        if (!(value instanceof String s) || s.isEmpty()) {
            throw new TokenRejectedException("pod binding check failed: the token lacks '" + claim + "' (a non-empty "
                    + "string); present a projected service-account token of a pod");
        }
        return s;
    }

    private static void requireFormat(String value, Pattern format, int max, String claim, String what)
            throws TokenRejectedException {
        if (value.length() > max || !format.matcher(value).matches()) {
            throw new TokenRejectedException("claim format check failed: '" + claim + "' is '" + sanitize(value, 64)
                    + "', not " + what);
        }
    }
}
