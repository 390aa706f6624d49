package dev.attestmesh.authz;

import dev.attestmesh.registry.NodeState;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.google.protobuf.ByteString;
import dev.attestmesh.ca.AttestationClaims;
import dev.attestmesh.ca.AttestationClaimsCodec;
import dev.attestmesh.ca.ClaimsDecodeException;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Date;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides Envoy ext_authz checks on the peer's attestation (design section 7). With a peer
 * certificate ({@code attributes.source.certificate}, URL-encoded PEM): the certificate must be
 * strictly encoded, valid at the clock's time, chain through an intermediate of the current trust
 * bundle to a root in it, carry a decodable claims extension and exactly one URI SAN equal to the
 * registry record's SPIFFE ID, and be one of the node's current certificates; the decision is that
 * node's. Without a certificate (Istio, which does not forward it) the decision is the principal's
 * ({@code source.principal}), made by {@link PrincipalDecider}: every instance of the principal whose
 * certificate has not expired must pass, and the first that does not denies (fail closed). In both
 * cases a record passes when it is {@link NodeState#ATTESTED}, its evidence unexpired, and every
 * required policy satisfied at the policy's current version ({@link RecordChecks}). Required
 * policies are the {@code x-attestmesh-policy-ids} header's, else the mesh config's for the
 * destination.
 *
 * <p>Per-route override: an HTTP check whose {@code context_extensions} hold {@value
 * #POLICY_IDS_KEY} (comma-separated, set per route in Envoy's {@code check_settings}) uses those
 * policies instead of the header's. Oversized input ({@value #MAX_REQUEST_BYTES} bytes of request,
 * {@value #MAX_CERTIFICATE_CHARS} characters of certificate) is denied with a reason, never parsed.
 * When the view reports itself {@linkplain RegistryView#unavailableReason() unavailable} (a
 * standalone replica past its staleness limit) every check is denied with that reason.
 *
 * <p>{@link #decide} never throws. Decisions are cached; the cache is cleared on every registry
 * change notification and on {@link #invalidateAll()}, and a result computed while a change arrived
 * is not cached, so a revocation applies from the next check. Allow decisions are also bounded by
 * certificate and evidence expiry (for a principal: the earliest among its live instances).
 * Thread-safe.
 */
public final class AuthzDecider {
    private static final Logger LOG = LoggerFactory.getLogger(AuthzDecider.class);
    /** Safety net: no decision outlives this even if a change notification were lost. */
    private static final Duration MAX_TTL = Duration.ofSeconds(60);
    /**
     * Each cached decision's safety-net lifetime is drawn from [75%, 100%] of {@link #MAX_TTL}, so the
     * decisions of peers first seen together (after a restart or a registry change) do not all expire in
     * the same instant and send every peer through a full decision at once (a latency spike measured at
     * 8-18 ms p99 under 5,000 Checks/s before the spread).
     */
    static Duration safetyNetTtl() {
        long max = MAX_TTL.toMillis();
        return Duration.ofMillis(max - java.util.concurrent.ThreadLocalRandom.current().nextLong(max / 4 + 1));
    }
    private static final int URI_SAN = 6;
    /** Context extension key (and gRPC header) naming required policy IDs, comma-separated. */
    public static final String POLICY_IDS_KEY = "x-attestmesh-policy-ids";
    /** Largest CheckRequest decided on; Envoy's requests are a few KiB (one certificate, some headers). */
    public static final int MAX_REQUEST_BYTES = 256 * 1024;
    /** Largest URL-encoded peer certificate accepted, in bytes (it is ASCII); a mesh leaf is about 2.5 KiB encoded. */
    public static final int MAX_CERTIFICATE_CHARS = 64 * 1024;

    /**
     * Cache key: the certificate field's bytes exactly as sent (or the principal) and the sorted required
     * policy IDs. The full text, not a digest of it: equality is exact, and a hit costs a string
     * hash instead of a SHA-256 over the certificate (the hot path of every cached Check).
     */
    private static final class DecisionKey {
        private final byte[] certificate;
        private final String principal;
        private final List<String> required;
        private final int hash;

        DecisionKey(byte[] certificate, String principal, List<String> required) {
            this.certificate = certificate;
            this.principal = principal;
            this.required = required;
            // Arrays.hashCode and Arrays.equals are vectorised intrinsics; ByteString's are byte loops,
            // which cost a microsecond per Check for a 2.5 KiB certificate.
            this.hash = (Arrays.hashCode(certificate) * 31 + principal.hashCode()) * 31 + required.hashCode();
        }

        int weight() {
            return 1 + (certificate.length + principal.length()) / 1024;
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof DecisionKey k && k.hash == hash && Arrays.equals(k.certificate, certificate)
                    && k.principal.equals(principal) && k.required.equals(required);
        }
    }

    /**
     * A trust bundle with its issuing intermediates already verified to one of its roots (PKIX), so a
     * peer chain costs one signature check: the leaf's. Keyed by the bundle's contents.
     */
    private record VerifiedBundle(List<X509Certificate> bundle, Map<javax.security.auth.x500.X500Principal,
            List<X509Certificate>> intermediatesBySubject, Optional<String> problem, Instant recheckAt) {}

    private static final byte[] NO_CERTIFICATE = new byte[0];
    private final RegistryView view;
    private final PrincipalDecider byPrincipal;
    private final Clock clock;
    private final Cache<DecisionKey, TimedDecision> cache; // null when disabled
    /** Intermediates of the last trust bundle seen, each verified once against a bundle root. */
    private volatile VerifiedBundle verifiedBundle;
    private final AtomicLong generation = new AtomicLong();

    /**
     * @param cacheMaximumSize bound of the decision cache in units of one decision per started KiB of
     *     its key (a decision for a 2.5 KiB URL-encoded certificate counts 3), so memory stays about
     *     {@code cacheMaximumSize} KiB whatever peers send; 0 disables the cache (every check is decided
     *     afresh, as the load harness does to measure uncached decisions)
     */
    public AuthzDecider(RegistryView view, Clock clock, long cacheMaximumSize) {
        if (cacheMaximumSize < 0) {
            throw new IllegalArgumentException("decision cache size must be >= 0, was " + cacheMaximumSize);
        }
        this.view = view;
        this.byPrincipal = new PrincipalDecider(view);
        this.clock = clock;
        this.cache = cacheMaximumSize == 0 ? null
                : Caffeine.newBuilder().maximumWeight(cacheMaximumSize)
                        .weigher((DecisionKey k, TimedDecision v) -> k.weight())
                        .expireAfter(Expiry.writing((DecisionKey k, TimedDecision v) -> safetyNetTtl()))
                        .build();
        view.addChangeListener(this::invalidateAll);
    }

    /** Drops every cached decision; the next check of each peer is decided afresh. */
    public void invalidateAll() {
        generation.incrementAndGet();
        if (cache != null) {
            cache.invalidateAll();
        }
    }

    /**
     * @param headerPolicyIds policy IDs from the {@code x-attestmesh-policy-ids} header; empty to
     *     fall back to the mesh config
     */
    public Decision decide(CheckRequest req, List<String> headerPolicyIds) {
        return decide(req, -1, headerPolicyIds);
    }

    /**
     * As {@link #decide(CheckRequest, List)}, for a caller that already knows the request's encoded size
     * (the gRPC binding reads it from the transport instead of re-computing it per Check).
     *
     * @param serializedSize the request's encoded size in bytes, or -1 to compute it
     */
    public Decision decide(CheckRequest req, int serializedSize, List<String> headerPolicyIds) {
        try {
            Optional<String> unavailable = view.unavailableReason();
            if (unavailable.isPresent()) {
                return new Decision.Deny(unavailable.get());
            }
            // Size first: on a freshly parsed request it is cheap while string fields are still raw bytes
            int size = serializedSize >= 0 ? serializedSize : req.getSerializedSize();
            AttributeContext attrs = req.getAttributes();
            ByteString certificate = attrs.getSource().getCertificateBytes(); // decoded to text only on a cache miss
            if (certificate.size() > MAX_CERTIFICATE_CHARS) {
                return new Decision.Deny("peer certificate field is " + certificate.size()
                        + " bytes, more than the limit of " + MAX_CERTIFICATE_CHARS
                        + "; send the leaf certificate only");
            }
            if (size > MAX_REQUEST_BYTES) {
                return new Decision.Deny("CheckRequest is " + size + " bytes, more than the limit of "
                        + MAX_REQUEST_BYTES + "; limit the headers and body Envoy forwards (with_request_body, "
                        + "allowed_headers)");
            }
            List<String> required = required(attrs, headerPolicyIds);
            String principal = attrs.getSource().getPrincipal();
            DecisionKey key;
            if (!certificate.isEmpty()) {
                key = new DecisionKey(certificate.toByteArray(), "", required);
            } else if (!principal.isEmpty()) {
                key = new DecisionKey(NO_CERTIFICATE, principal, required);
            } else {
                return new Decision.Deny("no peer certificate and no peer principal: the connection is not mutual TLS");
            }
            Instant now = clock.instant();
            TimedDecision hit = cache == null ? null : cache.getIfPresent(key);
            if (hit != null && hit.usableAt(now)) {
                return hit.decision();
            }
            long gen = generation.get();
            TimedDecision fresh = certificate.isEmpty() ? byPrincipal.decide(principal, required, now)
                    : byCertificate(new String(key.certificate, StandardCharsets.ISO_8859_1), required, now);
            if (cache != null && generation.get() == gen) { // a change arrived meanwhile: the result may be stale, do not keep it
                cache.put(key, fresh);
            }
            if (fresh.decision() instanceof Decision.Deny d) {
                LOG.debug("ext_authz deny: {}", d.reason());
            }
            return fresh.decision();
        } catch (RuntimeException e) {
            LOG.warn("ext_authz internal error; denying", e);
            return new Decision.Deny("internal error: " + e.getClass().getSimpleName());
        }
    }

    private List<String> required(AttributeContext attrs, List<String> header) {
        String perRoute = attrs.getContextExtensionsMap().get(POLICY_IDS_KEY);
        Collection<String> ids;
        if (perRoute != null) {
            ids = List.of(perRoute.split(",")); // per-route setting wins, even when it lists none
        } else if (!header.isEmpty()) {
            ids = header;
        } else {
            ids = view.requiredPolicies(attrs.getDestination().getPrincipal(),
                    attrs.getDestination().getAddress().getSocketAddress().getPortValue());
        }
        if (ids instanceof List<String> list && isNormalized(list)) {
            return List.copyOf(list); // no copy when already immutable, as the header interceptor's lists are
        }
        TreeSet<String> out = new TreeSet<>();
        for (String id : ids) {
            String t = id.strip();
            if (!t.isEmpty()) {
                out.add(t);
            }
        }
        return List.copyOf(out);
    }

    /** Sorted, without duplicates, blanks or surrounding spaces. */
    static boolean isNormalized(List<String> ids) {
        String prev = null;
        for (String id : ids) {
            if (id.isEmpty() || Character.isWhitespace(id.charAt(0)) || Character.isWhitespace(id.charAt(id.length() - 1))
                    || (prev != null && prev.compareTo(id) >= 0)) {
                return false;
            }
            prev = id;
        }
        return true;
    }

    private TimedDecision byCertificate(String urlEncodedPem, List<String> required, Instant now) {
        Optional<String> pem = percentDecode(urlEncodedPem);
        if (pem.isEmpty()) {
            return deny("peer certificate is not URL-encoded PEM (bad escape or unencoded character)", now);
        }
        X509Certificate leaf;
        try {
            byte[] der = firstCertificateDer(pem.get());
            leaf = (X509Certificate) CERTIFICATES.get().generateCertificate(new java.io.ByteArrayInputStream(der));
            // The certificate parser stops at the end of the DER structure; bytes after it are garbled input.
            if (!java.util.Arrays.equals(leaf.getEncoded(), der)) {
                return deny("peer certificate is not valid PEM: bytes after the certificate's DER encoding", now);
            }
        } catch (CertificateException e) {
            return deny("peer certificate is not valid PEM: " + e.getMessage(), now);
        }
        try {
            leaf.checkValidity(Date.from(now));
        } catch (CertificateExpiredException e) {
            return deny("peer certificate expired at " + leaf.getNotAfter().toInstant(), now);
        } catch (CertificateNotYetValidException e) {
            return deny("peer certificate is not valid before " + leaf.getNotBefore().toInstant(), now);
        }
        Optional<String> chainProblem = verifyChain(leaf, view.trustBundle(), now);
        if (chainProblem.isPresent()) {
            return deny(chainProblem.get(), now);
        }
        AttestationClaims claims;
        try {
            Optional<AttestationClaims> c = AttestationClaimsCodec.fromCertificate(leaf);
            if (c.isEmpty()) {
                return deny("peer certificate has no attestation claims extension", now);
            }
            claims = c.get();
        } catch (ClaimsDecodeException e) {
            return deny("peer certificate claims are unreadable: " + e.getMessage(), now);
        }
        List<String> uris = new ArrayList<>();
        try {
            var sans = leaf.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (san.get(0) instanceof Integer t && t == URI_SAN) {
                        uris.add(String.valueOf(san.get(1)));
                    }
                }
            }
        } catch (CertificateException e) {
            return deny("peer certificate subject alternative names are malformed", now);
        }
        if (uris.size() != 1) {
            return deny("peer certificate must have exactly one URI SAN, has " + uris.size(), now);
        }
        Optional<NodeAuthzRecord> rec = view.byNodeId(claims.nodeId());
        if (rec.isEmpty()) {
            return deny("node '" + claims.nodeId() + "' is not in the registry", now);
        }
        NodeAuthzRecord r = rec.get();
        if (!uris.getFirst().equals(r.spiffeId())) {
            return deny("peer certificate SPIFFE ID " + uris.getFirst() + " does not match node '" + r.nodeId()
                    + "' (" + r.spiffeId() + ")", now);
        }
        String fingerprint;
        try {
            fingerprint = HexFormat.of().formatHex(sha256(leaf.getEncoded()));
        } catch (java.security.cert.CertificateEncodingException e) {
            return deny("peer certificate cannot be re-encoded", now);
        }
        if (r.state() != NodeState.ATTESTED) { // said before the certificate-set check, whose emptiness it explains
            return deny("node '" + r.nodeId() + "' is " + r.state()
                    + (r.stateReason().isEmpty() ? "" : ": " + r.stateReason()), now);
        }
        if (!r.certificateSha256Hex().contains(fingerprint)) {
            return deny("peer certificate is not a current certificate of node '" + r.nodeId()
                    + "' (superseded or revoked)", now);
        }
        Instant until = min(leaf.getNotAfter().toInstant(), r.evidenceExpiresAt());
        return admitNode(r, required, now, until);
    }

    /** The record checks and the allow for one node admitted by its peer certificate. */
    private TimedDecision admitNode(NodeAuthzRecord r, List<String> required, Instant now, Instant validUntil) {
        RecordChecks.Result versions = RecordChecks.currentVersions(view, required);
        if (versions.problem().isPresent()) {
            return deny(versions.problem().get(), now);
        }
        Optional<String> problem = RecordChecks.problem(r, required, versions.versions(), now);
        if (problem.isPresent()) {
            return deny("node '" + r.nodeId() + "' " + problem.get(), now);
        }
        List<String> satisfied = new ArrayList<>();
        for (Map.Entry<String, Long> e : new java.util.TreeMap<>(r.satisfiedPolicies()).entrySet()) {
            OptionalLong current = view.currentPolicyVersion(e.getKey());
            if (current.isPresent() && current.getAsLong() == e.getValue()) {
                satisfied.add(e.getKey());
            }
        }
        return new TimedDecision(new Decision.Allow(new Decision.Node(r.nodeId(), r.spiffeId(), r.tee(),
                r.measurement()), satisfied), now, validUntil);
    }

    /** Empty when {@code leaf} chains through a bundle intermediate to a bundle root at {@code now}. */
    private Optional<String> verifyChain(X509Certificate leaf, List<X509Certificate> bundle, Instant now) {
        VerifiedBundle vb = verifiedBundle;
        if (vb == null || (vb.bundle() != bundle && !vb.bundle().equals(bundle)) || !now.isBefore(vb.recheckAt())) {
            vb = verifyBundle(bundle, now);
            verifiedBundle = vb;
        }
        if (vb.problem().isPresent()) {
            return vb.problem();
        }
        List<X509Certificate> candidates = vb.intermediatesBySubject().getOrDefault(leaf.getIssuerX500Principal(), List.of());
        String lastProblem = null;
        for (X509Certificate issuer : candidates) { // more than one only while a rotated intermediate keeps its name
            try {
                issuer.checkValidity(Date.from(now));
            } catch (CertificateExpiredException | CertificateNotYetValidException e) {
                lastProblem = "issuing intermediate " + issuer.getSubjectX500Principal().getName()
                        + " is not valid at " + now;
                continue;
            }
            try {
                CertificateFactory cf = CertificateFactory.getInstance("X.509");
                PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(issuer, null)));
                params.setRevocationEnabled(false); // revocation is the registry's job
                params.setDate(Date.from(now));
                CertPathValidator.getInstance("PKIX").validate(cf.generateCertPath(List.of(leaf)), params);
                return Optional.empty();
            } catch (CertPathValidatorException e) {
                String m = String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT);
                // PKIX reports a signature by another key as "does not chain with any of the trust anchors"
                lastProblem = e.getReason() == CertPathValidatorException.BasicReason.INVALID_SIGNATURE
                        || m.contains("signature") || m.contains("does not chain") ? null
                        : "peer certificate chain does not verify to the mesh trust bundle: " + e.getMessage();
            } catch (GeneralSecurityException e) {
                lastProblem = "peer certificate chain could not be checked: " + e.getMessage();
            }
        }
        if (lastProblem == null) {
            return Optional.of("peer certificate was not issued by any intermediate in the mesh trust bundle "
                    + "(issuer " + leaf.getIssuerX500Principal().getName() + "; other CA or altered certificate)");
        }
        return Optional.of(lastProblem);
    }

    /** Verifies each intermediate of {@code bundle} to a root of it (PKIX, at {@code now}), once per bundle. */
    private static VerifiedBundle verifyBundle(List<X509Certificate> bundle, Instant now) {
        Set<TrustAnchor> anchors = new HashSet<>();
        List<X509Certificate> intermediates = new ArrayList<>();
        for (X509Certificate c : bundle) {
            if (c.getSubjectX500Principal().equals(c.getIssuerX500Principal())) {
                anchors.add(new TrustAnchor(c, null));
            } else {
                intermediates.add(c);
            }
        }
        if (anchors.isEmpty()) {
            return new VerifiedBundle(List.copyOf(bundle), Map.of(),
                    Optional.of("mesh trust bundle has no root certificate; cannot verify peers"), now.plus(TimedDecision.DENY_TTL));
        }
        Map<javax.security.auth.x500.X500Principal, List<X509Certificate>> bySubject = new java.util.HashMap<>();
        for (X509Certificate i : intermediates) {
            if (i.getBasicConstraints() < 0) {
                LOG.warn("trust bundle certificate {} is not a CA; ignored", i.getSubjectX500Principal().getName());
                continue;
            }
            try {
                CertificateFactory cf = CertificateFactory.getInstance("X.509");
                PKIXParameters params = new PKIXParameters(anchors);
                params.setRevocationEnabled(false);
                params.setDate(Date.from(now));
                CertPathValidator.getInstance("PKIX").validate(cf.generateCertPath(List.of(i)), params);
                bySubject.computeIfAbsent(i.getSubjectX500Principal(), k -> new ArrayList<>()).add(i);
            } catch (GeneralSecurityException e) {
                LOG.warn("trust bundle intermediate {} does not verify to a bundle root ({}); ignored",
                        i.getSubjectX500Principal().getName(), e.getMessage());
            }
        }
        // Re-verify when any bundle certificate expires (a root's expiry is not rechecked per call)
        Instant recheck = bundle.stream().map(c -> c.getNotAfter().toInstant()).min(Instant::compareTo)
                .orElse(now).plus(Duration.ofSeconds(1));
        return new VerifiedBundle(List.copyOf(bundle), Map.copyOf(bySubject), Optional.empty(), recheck);
    }

    /**
     * Strict percent-decoding of Envoy's URL-encoded PEM. Envoy's {@code PercentEncoding::urlEncode}
     * escapes every character except ASCII letters, digits and {@code * - . _}; any other character
     * appearing unescaped means the input is not what Envoy produces, so it is refused rather than
     * guessed at.
     */
    static Optional<String> percentDecode(String s) {
        byte[] out = new byte[s.length()];
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                if (i + 2 >= s.length()) {
                    return Optional.empty();
                }
                int hi = Character.digit(s.charAt(i + 1), 16);
                int lo = Character.digit(s.charAt(i + 2), 16);
                if (hi < 0 || lo < 0 || hi > 7) {
                    return Optional.empty(); // bad escape, or a non-ASCII byte: PEM is ASCII
                }
                out[n++] = (byte) (hi << 4 | lo);
                i += 2;
            } else if (!isUnreservedByEnvoy(c)) {
                return Optional.empty();
            } else {
                out[n++] = (byte) c;
            }
        }
        return Optional.of(new String(out, 0, n, StandardCharsets.US_ASCII));
    }

    /**
     * The DER of the single PEM CERTIFICATE block of {@code pem} (Envoy sends the peer's leaf only):
     * only whitespace may surround it, and its body is base64 in lines. Anything else is garbled input
     * and refused, so nothing unverified rides along with a genuine certificate.
     */
    static byte[] firstCertificateDer(String pem) throws CertificateException {
        final String begin = "-----BEGIN CERTIFICATE-----";
        final String end = "-----END CERTIFICATE-----";
        int b = pem.indexOf(begin);
        if (b < 0) {
            throw new CertificateException("no PEM CERTIFICATE block found");
        }
        if (!pem.substring(0, b).isBlank()) {
            throw new CertificateException("text before the PEM CERTIFICATE block");
        }
        int e = pem.indexOf(end, b + begin.length());
        if (e < 0) {
            throw new CertificateException("PEM CERTIFICATE block has no END line");
        }
        if (!pem.substring(e + end.length()).isBlank()) {
            throw new CertificateException("text after the PEM CERTIFICATE block (Envoy sends the leaf certificate only)");
        }
        StringBuilder body = new StringBuilder(e - b);
        for (int i = b + begin.length(); i < e; i++) {
            char c = pem.charAt(i);
            if (c == '-') {
                throw new CertificateException("unexpected PEM boundary inside a CERTIFICATE block");
            }
            if (c != '\n' && c != '\r' && c != ' ' && c != '\t') {
                body.append(c);
            }
        }
        try {
            return java.util.Base64.getDecoder().decode(body.toString());
        } catch (IllegalArgumentException ex) {
            throw new CertificateException("PEM certificate has invalid base64: " + ex.getMessage());
        }
    }

    private static boolean isUnreservedByEnvoy(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '*' || c == '-' || c == '.' || c == '_';
    }

    private static TimedDecision deny(String reason, Instant now) {
        return TimedDecision.deny(reason, now);
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }

    private static final ThreadLocal<CertificateFactory> CERTIFICATES = ThreadLocal.withInitial(() -> {
        try {
            return CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException("X.509 is not available in this JVM", e);
        }
    });
    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is not available in this JVM", e);
        }
    });

    private static byte[] sha256(byte[] b) {
        MessageDigest md = SHA256.get();
        md.reset();
        return md.digest(b);
    }
}
