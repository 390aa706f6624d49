package dev.attestmesh.authz.peer;

import dev.attestmesh.ca.AttestationClaims;
import dev.attestmesh.ca.AttestationClaimsCodec;
import dev.attestmesh.ca.ClaimsDecodeException;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A leaf certificate read as a mesh node's: it carries the attestation claims extension (which names
 * the node) and exactly one URI SAN (its SPIFFE ID). Reading proves nothing by itself: call it only on
 * a leaf that {@link MeshChainVerifier} accepted, then compare with the node's registry record.
 *
 * @param leaf the certificate
 * @param claims its decoded claims extension
 * @param spiffeId its only URI SAN
 * @param sha256Hex SHA-256 of its DER, lower-case hex: how the registry lists a node's current certificates
 */
public record NodeCertificate(X509Certificate leaf, AttestationClaims claims, String spiffeId, String sha256Hex) {
    private static final int URI_SAN = 6;

    public NodeCertificate {
        Objects.requireNonNull(leaf, "leaf");
        Objects.requireNonNull(claims, "claims");
        Objects.requireNonNull(spiffeId, "spiffeId");
        Objects.requireNonNull(sha256Hex, "sha256Hex");
    }

    /**
     * Reads {@code leaf} as a node certificate.
     *
     * @throws CertificateException whose message is the denial reason (no or unreadable claims, not exactly
     *     one URI SAN, not re-encodable)
     */
    public static NodeCertificate read(X509Certificate leaf) throws CertificateException {
        AttestationClaims claims;
        try {
            Optional<AttestationClaims> c = AttestationClaimsCodec.fromCertificate(leaf);
            if (c.isEmpty()) {
                throw new CertificateException("peer certificate has no attestation claims extension");
            }
            claims = c.get();
        } catch (ClaimsDecodeException e) {
            throw new CertificateException("peer certificate claims are unreadable: "
                    + UntrustedText.quote(String.valueOf(e.getMessage())), e);
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
            throw new CertificateException("peer certificate subject alternative names are malformed", e);
        }
        if (uris.size() != 1) {
            throw new CertificateException("peer certificate must have exactly one URI SAN, has " + uris.size());
        }
        String fingerprint;
        try {
            fingerprint = HexFormat.of().formatHex(sha256(leaf.getEncoded()));
        } catch (CertificateEncodingException e) {
            throw new CertificateException("peer certificate cannot be re-encoded", e);
        }
        return new NodeCertificate(leaf, claims, uris.getFirst(), fingerprint);
    }

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
