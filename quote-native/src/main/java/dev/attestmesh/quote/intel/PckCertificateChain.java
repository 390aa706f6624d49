package dev.attestmesh.quote.intel;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.collateral.CollateralEncodings;
import dev.attestmesh.quote.collateral.CollateralParseException;
import dev.attestmesh.quote.collateral.PckCa;
import dev.attestmesh.quote.trust.EcdsaP256;
import dev.attestmesh.quote.trust.IntelTrustAnchors;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * A PCK certificate chain from a quote's certification data whose signatures have been verified up
 * to the pinned Intel SGX Root CA. Validity windows are time-dependent and checked per request with
 * {@link #checkValidAt(Instant)}; everything else here is independent of time and safe to cache.
 */
record PckCertificateChain(X509Certificate leaf, X509Certificate intermediate, X509Certificate root,
        EcdsaP256.VerifyingKey leafKey, EcdsaP256.VerifyingKey intermediateKey, PckCa ca,
        PckCertificateExtensions extensions) {

    /** Parses and verifies the PEM chain (leaf, PCK CA, optionally the root) against the anchors. */
    static PckCertificateChain verify(byte[] certificationData, IntelTrustAnchors anchors, EcdsaP256.VerifyingKey rootKey)
            throws EvidenceVerificationException {
        // The chain is leaf, PCK CA, Intel SGX Root CA. Trust comes from the configured pinned root,
        // never from the root bytes in the quote; but a root copy that differs from the pinned root means
        // the quote was altered or chains elsewhere, so it is refused (a byte comparison, no signature;
        // dcap-qvl ignores the copy, Intel's QVL compares it with its trusted root).
        List<X509Certificate> certs = new java.util.ArrayList<>();
        try {
            List<byte[]> blocks = CollateralEncodings.pemCertificateBlocks(certificationData);
            if (blocks.size() < 2) {
                throw new EvidenceVerificationException(VerificationCheck.PCK_CHAIN, "the quote's PCK chain has "
                        + blocks.size() + " certificate(s); expected leaf, PCK CA and Intel SGX Root CA");
            }
            certs.add(CollateralEncodings.certificate(blocks.get(0)));
            certs.add(CollateralEncodings.certificate(blocks.get(1)));
            byte[] pinned = encoded(anchors.root());
            for (byte[] extra : blocks.subList(2, blocks.size())) {
                if (!java.util.Arrays.equals(extra, pinned)) {
                    throw new EvidenceVerificationException(VerificationCheck.PCK_CHAIN, "the quote's PCK chain carries a "
                            + "root certificate that is not the pinned Intel SGX Root CA; the quote was altered or "
                            + "chains to another root");
                }
            }
        } catch (CollateralParseException e) {
            throw new EvidenceVerificationException(VerificationCheck.PCK_CHAIN,
                    "the quote's PCK certificate chain is unreadable: " + e.getMessage(), e);
        }
        X509Certificate root = anchors.root();
        X509Certificate leaf = certs.get(0);
        X509Certificate ca = certs.get(1);
        checkSignedBy(ca, root, rootKey, "PCK CA certificate", "Intel SGX Root CA");
        EcdsaP256.VerifyingKey caKey = key(ca, "PCK CA certificate");
        checkSignedBy(leaf, ca, caKey, "PCK leaf certificate", "PCK CA");
        PckCa caType = PckCa.fromCommonName(commonName(ca)).orElseThrow(() -> new EvidenceVerificationException(
                VerificationCheck.PCK_CHAIN, "the PCK CA is '" + commonName(ca)
                        + "', neither the Intel SGX PCK Processor CA nor the Platform CA"));
        PckCertificateExtensions ext;
        try {
            ext = PckCertificateExtensions.read(leaf);
        } catch (IllegalArgumentException e) {
            throw new EvidenceVerificationException(VerificationCheck.PCK_CHAIN, e.getMessage(), e);
        }
        return new PckCertificateChain(leaf, ca, root, key(leaf, "PCK leaf certificate"), caKey, caType, ext);
    }

    /** Estimated heap bytes: decoded certificates at about four times their DER, two decoded keys. */
    int weight() {
        return 4 * (encoded(leaf).length + encoded(intermediate).length) + 2 * 4096 + 512;
    }

    void checkValidAt(Instant at) throws EvidenceVerificationException {
        ValidityWindow.of(leaf, "PCK leaf certificate").check(at);
        ValidityWindow.of(intermediate, "PCK CA certificate '" + ca.commonName() + "'").check(at);
        ValidityWindow.of(root, "Intel SGX Root CA certificate").check(at);
    }

    /** Issuer name and signature; {@code PCK_CHAIN} on failure. */
    /** The certificate's P-256 key; {@code PCK_CHAIN} if it has another kind of key. */
    static EcdsaP256.VerifyingKey key(X509Certificate c, String what) throws EvidenceVerificationException {
        return EcdsaP256.fromPublicKey(c.getPublicKey()).orElseThrow(() -> new EvidenceVerificationException(
                VerificationCheck.PCK_CHAIN, what + " does not carry an ECDSA P-256 key"));
    }

    static void checkSignedBy(X509Certificate cert, X509Certificate issuer, EcdsaP256.VerifyingKey issuerKey, String what,
            String issuerName) throws EvidenceVerificationException {
        if (!cert.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
            throw new EvidenceVerificationException(VerificationCheck.PCK_CHAIN,
                    what + " names issuer '" + cert.getIssuerX500Principal().getName() + "', not the " + issuerName);
        }
        if (!EcdsaP256.verifyCertificate(cert, issuerKey)) {
            throw new EvidenceVerificationException(VerificationCheck.PCK_CHAIN,
                    what + " signature does not verify with the " + issuerName + " key");
        }
    }

    static String commonName(X509Certificate c) {
        try {
            for (Rdn rdn : new LdapName(c.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return rdn.getValue().toString();
                }
            }
        } catch (javax.naming.InvalidNameException e) {
            return "";
        }
        return "";
    }

    static byte[] encoded(X509Certificate c) {
        try {
            return c.getEncoded();
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalStateException("a parsed certificate always re-encodes", e);
        }
    }

    static String sha256Hex(byte[] b) {
        return HexFormat.of().formatHex(sha256(b));
    }

    static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }
}
