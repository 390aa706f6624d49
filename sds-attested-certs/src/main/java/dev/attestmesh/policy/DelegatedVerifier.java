package dev.attestmesh.policy;

import dev.attestmesh.trustee.EarStatus;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A policy's {@code verifier: trustee}: the evidence is appraised by a Trustee attestation service (AS)
 * rather than by this control plane's own verifiers, and the policy's rules apply to the claims of the
 * AS's signed EAR token (docs/trustee.md).
 *
 * <p>Claims from an AS are stored under {@link #claimPrefix()}, a name derived from the AS address and
 * its policy IDs, so that an appraisal by one AS (or with other AS policies) never satisfies a policy
 * naming another, and a change of either re-appraises nodes as unsatisfied at once.
 *
 * @param asAddr the AS address: {@code https://as.example:8080} (RESTful API) or {@code grpcs://as.example:50004}
 *     (gRPC API); {@code http} and {@code grpc} only to loopback
 * @param policyIds the AS policy IDs sent with each request ({@code policy_ids}); at least one
 * @param acceptedStatuses the EAR statuses accepted (default affirming); never contraindicated
 */
public record DelegatedVerifier(URI asAddr, List<String> policyIds, Set<EarStatus> acceptedStatuses) {
    /** AS policy ID syntax (Trustee stores policies by ID as file names: no separators). */
    public static final Pattern AS_POLICY_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    /** Most AS policy IDs per policy. */
    public static final int MAX_POLICY_IDS = 16;
    /** Longest AS address. */
    public static final int MAX_ADDRESS_CHARS = 512;

    public DelegatedVerifier {
        Objects.requireNonNull(asAddr, "asAddr");
        policyIds = List.copyOf(policyIds);
        if (policyIds.isEmpty() || policyIds.size() > MAX_POLICY_IDS) {
            throw new IllegalArgumentException("policyIds must list 1 to " + MAX_POLICY_IDS + " AS policy IDs");
        }
        for (String id : policyIds) {
            if (!AS_POLICY_ID.matcher(id).matches()) {
                throw new IllegalArgumentException("AS policy ID must match " + AS_POLICY_ID.pattern());
            }
        }
        problemWithAddress(asAddr).ifPresent(p -> {
            throw new IllegalArgumentException(p);
        });
        if (acceptedStatuses.isEmpty() || acceptedStatuses.contains(EarStatus.CONTRAINDICATED)) {
            throw new IllegalArgumentException("earStatus must list accepted statuses and never contraindicated");
        }
        acceptedStatuses = Collections.unmodifiableSet(EnumSet.copyOf(acceptedStatuses));
    }

    /** Affirming only. */
    public static Set<EarStatus> defaultStatuses() {
        return EnumSet.of(EarStatus.AFFIRMING);
    }

    /**
     * What is wrong with {@code uri} as an AS address, if anything. The scheme chooses the AS API: an absolute
     * {@code https} URL (the RESTful API) or {@code grpcs://host:port} (the gRPC API, TLS); {@code http} and
     * {@code grpc} (plaintext) only to a loopback host, for tests and sidecars. No user info, query or fragment;
     * a gRPC address has a port and no path (the method is fixed).
     */
    public static java.util.Optional<String> problemWithAddress(URI uri) {
        String s = uri.toString();
        if (s.length() > MAX_ADDRESS_CHARS) {
            return java.util.Optional.of("asAddr is longer than " + MAX_ADDRESS_CHARS + " characters");
        }
        String scheme = uri.getScheme();
        if (!uri.isAbsolute() || uri.getHost() == null || scheme == null) {
            return java.util.Optional.of("asAddr must be an absolute https:// or grpcs:// address with a host");
        }
        if (uri.getRawUserInfo() != null || uri.getRawQuery() != null || uri.getRawFragment() != null) {
            return java.util.Optional.of("asAddr must not carry user info, a query or a fragment");
        }
        boolean loopback = uri.getHost().equals("localhost") || uri.getHost().equals("127.0.0.1")
                || uri.getHost().equals("[::1]");
        boolean grpc = scheme.equals("grpcs") || scheme.equals("grpc");
        if (!scheme.equals("https") && !scheme.equals("grpcs") && !((scheme.equals("http") || scheme.equals("grpc"))
                && loopback)) {
            return java.util.Optional.of("asAddr must use https or grpcs (http and grpc are accepted only to a "
                    + "loopback host)");
        }
        if (grpc && (uri.getPort() < 1 || !(uri.getRawPath() == null || uri.getRawPath().isEmpty()))) {
            return java.util.Optional.of("a gRPC asAddr is grpcs://host:port (a port and no path)");
        }
        return java.util.Optional.empty();
    }

    /**
     * The prefix of the claims this AS appraisal produced: {@code trustee.<16 hex>.}, the hex being the
     * start of SHA-256 over the address and the policy IDs.
     */
    public String claimPrefix() {
        return claimPrefix(asAddr, policyIds);
    }

    /** {@link #claimPrefix()} for an address and AS policy IDs. */
    public static String claimPrefix(URI asAddr, List<String> policyIds) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest((asAddr.toString() + "\n"
                    + String.join(",", policyIds)).getBytes(StandardCharsets.UTF_8));
            return "trustee." + HexFormat.of().formatHex(d, 0, 8) + ".";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
