package dev.attestmesh.quote.collateral;

import dev.attestmesh.quote.trust.EcdsaP256;
import dev.attestmesh.quote.trust.IntelTrustAnchors;
import java.io.ByteArrayInputStream;
import java.security.MessageDigest;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Signature checks of single Intel collateral items against the pinned Intel SGX Root CA: TCB Info and
 * QE Identity (TCB Signing certificate issued by the root, document signature over the exact delivered
 * bytes), the Root CA CRL (signed by the root) and a PCK CRL (signed by a PCK CA certificate that the
 * root issued).
 *
 * <p>Why separate from per-quote verification: a cache must know an item is genuine before it keeps
 * it, long before any quote asks for it. Time-dependent checks (validity windows) and revocation of the
 * signing certificate by the current Root CA CRL stay with the per-quote verification, which runs on
 * every request. Stateless and thread-safe.
 */
public final class CollateralAuthenticity {
    private CollateralAuthenticity() {}

    /**
     * Verifies a TCB Info or QE Identity signature over its exact delivered bytes with a TCB Signing
     * certificate that the pinned root issued. Candidates are the delivered chain's first certificate
     * and the configured ones (the 2025 re-issue has the same key, so either may be current).
     *
     * @param revoked certificates to refuse (the Root CA CRL's revocations, when one is at hand)
     * @param checked decoded signing keys by certificate fingerprint, shared across calls for one bundle
     *     (empty optional: that candidate was refused)
     * @param what "TCB Info" or "QE Identity", for messages
     * @return every candidate certificate whose key verified the document
     */
    public static List<X509Certificate> signedDocument(SignedCollateral doc, IntelTrustAnchors anchors,
            Predicate<X509Certificate> revoked, Map<String, Optional<EcdsaP256.VerifyingKey>> checked, String what)
            throws CollateralAuthenticityException {
        Map<String, X509Certificate> candidates = new LinkedHashMap<>();
        X509Certificate delivered = null;
        if (!doc.issuerChain().isEmpty()) {
            delivered = doc.issuerChain().get(0);
            candidates.put(fingerprint(delivered), delivered);
            deliveredChain(doc.issuerChain().subList(1, doc.issuerChain().size()), anchors, List.of(), what);
        }
        for (X509Certificate c : anchors.tcbSigningCertificates()) {
            candidates.put(fingerprint(c), c);
        }
        if (candidates.isEmpty()) {
            throw new CollateralAuthenticityException(what + " came without an issuer chain and no Intel SGX TCB "
                    + "Signing certificate is configured; configure one in the trust anchors");
        }
        byte[] body = doc.body();
        byte[] sig = doc.signature();
        List<X509Certificate> ok = new ArrayList<>();
        String lastProblem = "";
        for (Map.Entry<String, X509Certificate> e : candidates.entrySet()) {
            X509Certificate cand = e.getValue();
            Optional<EcdsaP256.VerifyingKey> key = checked.get(e.getKey());
            if (key == null) {
                key = Optional.empty();
                if (!cand.getIssuerX500Principal().equals(anchors.root().getSubjectX500Principal())) {
                    lastProblem = "signing certificate is not issued by the Intel SGX Root CA";
                } else if (!EcdsaP256.verifyCertificate(cand, anchors.rootVerifyingKey())) {
                    lastProblem = "signing certificate does not verify with the pinned root key";
                } else if (revoked.test(cand)) {
                    lastProblem = "signing certificate is revoked by the Root CA CRL";
                } else {
                    key = EcdsaP256.fromPublicKey(cand.getPublicKey());
                }
                checked.put(e.getKey(), key);
            }
            if (key.isEmpty()) {
                if (cand == delivered) {
                    // A delivered chain that does not check out is altered collateral: refuse it even when a
                    // configured certificate could verify the document (fail closed, as Intel's QVL does).
                    throw new CollateralAuthenticityException(what + " rejected: its delivered issuer chain's "
                            + lastProblem);
                }
                continue;
            }
            if (EcdsaP256.verifyRaw(key.get(), body, sig)) {
                ok.add(cand);
            } else {
                lastProblem = "signature over the delivered " + what + " bytes does not verify with the TCB Signing key";
            }
        }
        if (ok.isEmpty()) {
            throw new CollateralAuthenticityException(what + " rejected: " + lastProblem);
        }
        return List.copyOf(ok);
    }

    /**
     * Checks the certificates of a delivered issuer chain that the verification itself does not use:
     * each must be the pinned root, one of {@code known} (certificates already verified, such as the
     * quote's PCK CA), or a certificate the pinned root issued and signed. Why: the chain arrives with
     * the collateral and Intel's QVL verifies it whole, so a corrupted copy means the collateral was
     * altered in transit or assembled wrongly; ignoring it would accept collateral Intel never served.
     * Byte-equal copies (the usual case) cost no signature check.
     *
     * @param what the collateral item, for messages
     */
    public static void deliveredChain(List<X509Certificate> chain, IntelTrustAnchors anchors, List<X509Certificate> known,
            String what) throws CollateralAuthenticityException {
        for (X509Certificate c : chain) {
            if (c.equals(anchors.root()) || known.contains(c)) {
                continue;
            }
            if (!c.getIssuerX500Principal().equals(anchors.root().getSubjectX500Principal())
                    || !EcdsaP256.verifyCertificate(c, anchors.rootVerifyingKey())) {
                throw new CollateralAuthenticityException("the " + what + " issuer chain carries certificate '"
                        + c.getSubjectX500Principal().getName() + "', which is neither the pinned Intel SGX Root CA "
                        + "nor signed by it; the collateral was altered or is not Intel's");
            }
        }
    }

    /** Decodes a DER CRL. */
    public static X509CRL crl(byte[] der, String what) throws CollateralAuthenticityException {
        try {
            return (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(new ByteArrayInputStream(der));
        } catch (Exception e) {
            throw new CollateralAuthenticityException("the " + what + " is not a DER X.509 CRL", e);
        }
    }

    /** The Root CA CRL, decoded, issued and signed by the pinned root. */
    public static X509CRL rootCaCrl(byte[] der, IntelTrustAnchors anchors) throws CollateralAuthenticityException {
        X509CRL crl = crl(der, "Root CA CRL");
        if (!crl.getIssuerX500Principal().equals(anchors.root().getSubjectX500Principal())) {
            throw new CollateralAuthenticityException("the Root CA CRL is issued by '"
                    + crl.getIssuerX500Principal().getName() + "', not the Intel SGX Root CA");
        }
        if (!EcdsaP256.verifyCrl(crl, anchors.rootVerifyingKey())) {
            throw new CollateralAuthenticityException(
                    "the Root CA CRL signature does not verify with the Intel SGX Root CA key");
        }
        return crl;
    }

    /**
     * A PCK CRL, decoded and signed by a PCK CA certificate that the pinned root issued: {@code
     * verifiedCa} when the caller has one (the intermediate of a verified PCK chain), else the
     * certificate of the CRL's delivered issuer chain whose subject is the CRL's issuer.
     */
    public static X509CRL pckCrl(PckCrl c, Optional<X509Certificate> verifiedCa, IntelTrustAnchors anchors)
            throws CollateralAuthenticityException {
        X509CRL crl = crl(c.der(), "PCK CRL");
        X509Certificate ca = null;
        if (verifiedCa.isPresent() && verifiedCa.get().getSubjectX500Principal().equals(crl.getIssuerX500Principal())) {
            ca = verifiedCa.get();
        } else {
            for (X509Certificate cand : c.issuerChain()) {
                if (cand.getSubjectX500Principal().equals(crl.getIssuerX500Principal())) {
                    if (!cand.getIssuerX500Principal().equals(anchors.root().getSubjectX500Principal())
                            || !EcdsaP256.verifyCertificate(cand, anchors.rootVerifyingKey())) {
                        throw new CollateralAuthenticityException("the PCK CRL's issuer certificate '"
                                + cand.getSubjectX500Principal().getName() + "' is not issued by the Intel SGX Root CA");
                    }
                    ca = cand;
                    break;
                }
            }
        }
        deliveredChain(c.issuerChain(), anchors, ca == null ? List.of() : List.of(ca), "PCK CRL");
        if (ca == null) {
            throw new CollateralAuthenticityException("the PCK CRL of '" + crl.getIssuerX500Principal().getName()
                    + "' came without that CA's certificate, so its signature cannot be checked");
        }
        Optional<EcdsaP256.VerifyingKey> key = EcdsaP256.fromPublicKey(ca.getPublicKey());
        if (key.isEmpty() || !EcdsaP256.verifyCrl(crl, key.get())) {
            throw new CollateralAuthenticityException("the PCK CRL signature does not verify with the "
                    + crl.getIssuerX500Principal().getName() + " key");
        }
        return crl;
    }

    /** Lower-case hex SHA-256 of the certificate's DER. */
    public static String fingerprint(X509Certificate c) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded()));
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException("a parsed certificate always re-encodes", e);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }
}
