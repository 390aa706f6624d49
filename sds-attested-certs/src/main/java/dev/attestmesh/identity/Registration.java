package dev.attestmesh.identity;

import dev.attestmesh.ca.SpiffeId;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Pattern;

/**
 * A registration: one SPIFFE ID and what a node must prove to hold it (DESIGN.md section 5a). The
 * verified evidence must satisfy every listed policy, and every selector that is set must hold. Valid
 * by construction when it comes from {@link RegistrationDocuments}.
 *
 * @param id unique registration ID ({@code [a-z0-9][a-z0-9._-]{0,62}}), named in refusals, claims and
 *     revocation rules
 * @param version starts at 1 and goes up by one whenever the registration's content changes
 * @param spiffeId the SPIFFE ID granted, in URI form; may hold the placeholder {@value #NODE_ID_PLACEHOLDER}
 *     as one whole path segment, replaced by the node id (one identity per node)
 * @param policies policy IDs the evidence must all satisfy (at least one)
 * @param kubernetes when present, the node must have presented a verified service-account token of
 *     this namespace and service account with its Challenge
 * @param nodeIdPattern when present, a glob ({@code *} matches any run of node-id characters) the
 *     node id must match
 * @param maxInstances when present, at most this many nodes may hold the identity at once (live:
 *     attested, with an unexpired certificate)
 */
public record Registration(String id, long version, String spiffeId, List<String> policies,
        Optional<KubernetesSelector> kubernetes, Optional<String> nodeIdPattern, OptionalInt maxInstances) {
    /** The placeholder for the node id in a SPIFFE ID template. */
    public static final String NODE_ID_PLACEHOLDER = "{nodeId}";
    /** Registration IDs: the same shape as policy IDs. */
    public static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

    public Registration {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(spiffeId, "spiffeId");
        policies = List.copyOf(policies);
        Objects.requireNonNull(kubernetes, "kubernetes");
        Objects.requireNonNull(nodeIdPattern, "nodeIdPattern");
        Objects.requireNonNull(maxInstances, "maxInstances");
    }

    /**
     * The service account a Kubernetes workload must prove.
     *
     * @param namespace DNS label
     * @param serviceAccount DNS subdomain
     */
    public record KubernetesSelector(String namespace, String serviceAccount) {
        public KubernetesSelector {
            Objects.requireNonNull(namespace, "namespace");
            Objects.requireNonNull(serviceAccount, "serviceAccount");
        }
    }

    /** Whether the SPIFFE ID depends on the node id. */
    public boolean perNode() {
        return spiffeId.contains(NODE_ID_PLACEHOLDER);
    }

    /** The SPIFFE ID this registration grants to {@code nodeId} (a valid node id). */
    public SpiffeId spiffeIdFor(String nodeId) {
        return SpiffeId.parse(spiffeId.replace(NODE_ID_PLACEHOLDER, nodeId));
    }

    /** Whether {@code nodeId} matches the node-id selector (true when there is none). */
    public boolean nodeIdMatches(String nodeId) {
        return nodeIdPattern.map(p -> globMatches(p, nodeId)).orElse(true);
    }

    /** This registration with another version. */
    public Registration withVersion(long newVersion) {
        return new Registration(id, newVersion, spiffeId, policies, kubernetes, nodeIdPattern, maxInstances);
    }

    /** Content equality ignoring the version (what decides whether a write bumps it). */
    public boolean sameContent(Registration o) {
        return withVersion(1).equals(o.withVersion(1));
    }

    /** {@code *} matches any run of characters; every other character matches itself. Linear, no regex. */
    static boolean globMatches(String glob, String s) {
        int g = 0;
        int i = 0;
        int star = -1;
        int mark = 0;
        while (i < s.length()) {
            if (g < glob.length() && glob.charAt(g) != '*' && glob.charAt(g) == s.charAt(i)) {
                g++;
                i++;
            } else if (g < glob.length() && glob.charAt(g) == '*') {
                star = g++;
                mark = i;
            } else if (star >= 0) {
                g = star + 1;
                i = ++mark;
            } else {
                return false;
            }
        }
        while (g < glob.length() && glob.charAt(g) == '*') {
            g++;
        }
        return g == glob.length();
    }
}
