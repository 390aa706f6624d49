package dev.attestmesh.ca;

import dev.attestmesh.input.UntrustedText;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A SPIFFE ID ({@code spiffe://<trust-domain><path>}) validated by the SPIFFE ID specification's
 * rules: lower-case scheme {@code spiffe}; trust domain of {@code [a-z0-9._-]} only (no port, user
 * info, or upper case); a non-empty path whose segments are {@code [A-Za-z0-9._-]+} and are neither
 * {@code .} nor {@code ..}; no trailing slash, query, fragment or percent-encoding; at most 2048
 * bytes. AttestMesh only issues workload IDs, so the trust-domain-only form (empty path) is refused.
 *
 * @param trustDomain e.g. {@code mesh.example}
 * @param path e.g. {@code /node/node-1}; starts with {@code /}
 */
public record SpiffeId(String trustDomain, String path) {
    private static final Pattern TRUST_DOMAIN = Pattern.compile("[a-z0-9._-]{1,255}");
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9._-]+");
    private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9._-]{1,128}");
    private static final String SCHEME = "spiffe://";
    private static final int MAX_LENGTH = 2048;

    public SpiffeId {
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(path, "path");
        checkTrustDomain(trustDomain);
        checkPath(path);
        if (SCHEME.length() + trustDomain.length() + path.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("SPIFFE ID longer than " + MAX_LENGTH + " bytes");
        }
    }

    /** {@code spiffe://<td>/node/<nodeId>}; the node ID must match {@code [A-Za-z0-9._-]{1,128}}. */
    public static SpiffeId forNode(String trustDomain, String nodeId) {
        checkNodeId(nodeId);
        return new SpiffeId(trustDomain, "/node/" + nodeId);
    }

    /** {@code spiffe://<td>/ns/<namespace>/sa/<serviceAccount>} (the Istio/Kubernetes form). */
    public static SpiffeId forWorkload(String trustDomain, String namespace, String serviceAccount) {
        checkSegment(namespace, "namespace");
        checkSegment(serviceAccount, "service account");
        return new SpiffeId(trustDomain, "/ns/" + namespace + "/sa/" + serviceAccount);
    }

    /**
     * Parses {@code uri} strictly.
     *
     * @throws IllegalArgumentException naming the rule the input breaks
     */
    public static SpiffeId parse(String uri) {
        Objects.requireNonNull(uri, "uri");
        if (!uri.startsWith(SCHEME)) {
            throw new IllegalArgumentException("SPIFFE ID '" + UntrustedText.forLog(uri) + "' must start with 'spiffe://' (lower case)");
        }
        String rest = uri.substring(SCHEME.length());
        int slash = rest.indexOf('/');
        if (slash < 0) {
            if (rest.isEmpty()) {
                throw new IllegalArgumentException("SPIFFE ID '" + UntrustedText.forLog(uri) + "' has no trust domain");
            }
            checkTrustDomain(rest);
            throw new IllegalArgumentException("SPIFFE ID '" + UntrustedText.forLog(uri) + "' has no path; a workload ID needs one");
        }
        return new SpiffeId(rest.substring(0, slash), rest.substring(slash));
    }

    /** The rule every node id follows, as error messages state it. */
    public static final String NODE_ID_RULE = "1-128 characters of [A-Za-z0-9._-], not '.' or '..'";

    /** Validates a node ID: {@value #NODE_ID_RULE}. */
    public static void checkNodeId(String nodeId) {
        if (nodeId == null || !NODE_ID.matcher(nodeId).matches()) {
            throw new IllegalArgumentException("node id '" + UntrustedText.forLog(nodeId)
                    + "' is invalid: use 1 to 128 characters from A-Z a-z 0-9 . _ -");
        }
        if (nodeId.equals(".") || nodeId.equals("..")) {
            throw new IllegalArgumentException("node id must not be '.' or '..'");
        }
    }

    /**
     * Whether {@code nodeId} is a node id ({@value #NODE_ID_RULE}): the one rule for node ids wherever
     * they arrive (Challenge, Attest, xDS, mesh config, revocation rules).
     */
    public static boolean isNodeId(String nodeId) {
        return nodeId != null && NODE_ID.matcher(nodeId).matches() && !nodeId.equals(".") && !nodeId.equals("..");
    }

    /**
     * Validates a trust domain name ({@code [a-z0-9._-]}, 1 to 255 characters).
     *
     * @throws IllegalArgumentException naming the problem
     */
    public static void validateTrustDomain(String trustDomain) {
        checkTrustDomain(Objects.requireNonNull(trustDomain, "trustDomain"));
    }

    /** The URI form, {@code spiffe://<trustDomain><path>}. */
    public String uri() {
        return SCHEME + trustDomain + path;
    }

    @Override
    public String toString() {
        return uri();
    }

    private static void checkTrustDomain(String td) {
        if (td.isEmpty()) {
            throw new IllegalArgumentException("SPIFFE trust domain is empty");
        }
        if (!TRUST_DOMAIN.matcher(td).matches()) {
            throw new IllegalArgumentException("SPIFFE trust domain '" + UntrustedText.forLog(td)
                    + "' may contain only lower-case letters, digits, '.', '_' and '-' (no port, user info or upper case)");
        }
    }

    private static void checkPath(String path) {
        if (path.isEmpty()) {
            throw new IllegalArgumentException("SPIFFE ID path is empty; a workload ID needs one");
        }
        if (path.charAt(0) != '/') {
            throw new IllegalArgumentException("SPIFFE ID path '" + UntrustedText.forLog(path) + "' must start with '/'");
        }
        if (path.endsWith("/")) {
            throw new IllegalArgumentException("SPIFFE ID path '" + UntrustedText.forLog(path) + "' must not end with '/'");
        }
        for (String seg : path.substring(1).split("/", -1)) {
            if (seg.isEmpty()) {
                throw new IllegalArgumentException("SPIFFE ID path '" + UntrustedText.forLog(path) + "' has an empty segment ('//')");
            }
            checkSegment(seg, "path segment");
        }
    }

    private static void checkSegment(String seg, String what) {
        if (seg == null || !SEGMENT.matcher(seg).matches()) {
            throw new IllegalArgumentException("SPIFFE " + what + " '" + UntrustedText.forLog(seg)
                    + "' may contain only A-Z a-z 0-9 . _ - (no percent-encoding, query or fragment)");
        }
        if (seg.equals(".") || seg.equals("..")) {
            throw new IllegalArgumentException("SPIFFE " + what + " must not be '.' or '..'");
        }
    }
}
