package dev.attestmesh.ca;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import dev.attestmesh.quote.trust.EcdsaP256;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.CertificationRequest;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.jce.ECNamedCurveTable;
import org.bouncycastle.math.ec.ECCurve;

/**
 * Checks a PKCS#10 request from a node agent: size, DER structure, ECDSA P-256 key with a point on
 * the curve, ECDSA-SHA256/384 signature algorithm, and the self-signature. Thread-safe; uses JCA
 * {@link Signature} objects cached per thread because this runs on every attestation.
 */
public final class CsrValidator {
    /** Largest CSR accepted; a P-256 request is about 250 bytes. */
    public static final int MAX_CSR_BYTES = 8 * 1024;

    private static final ECCurve P256 = ECNamedCurveTable.getParameterSpec("secp256r1").getCurve();
    private static final ThreadLocal<Signature> SHA256_ECDSA = ThreadLocal.withInitial(() -> signature("SHA256withECDSA"));
    private static final ThreadLocal<Signature> SHA384_ECDSA = ThreadLocal.withInitial(() -> signature("SHA384withECDSA"));
    private static final ThreadLocal<KeyFactory> EC_KEYS = ThreadLocal.withInitial(() -> {
        try {
            return KeyFactory.getInstance("EC");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("EC keys are not available in this JVM", e);
        }
    });

    private CsrValidator() {}

    /**
     * @throws CsrRejectedException with the reason and a message saying what to fix
     */
    public static ValidatedCsr validate(byte[] csrDer) throws CsrRejectedException {
        if (csrDer.length > MAX_CSR_BYTES) {
            throw new CsrRejectedException(CsrRejectedException.Reason.OVERSIZED, "CSR is " + csrDer.length
                    + " bytes; at most " + MAX_CSR_BYTES + " are accepted (a P-256 CSR is about 250)");
        }
        CertificationRequest req;
        byte[] infoDer;
        byte[] spkiDer;
        try {
            req = CertificationRequest.getInstance(csrDer);
            if (req == null) {
                throw new IllegalArgumentException("empty input");
            }
            // DER only: re-encoding must reproduce the input exactly, so nothing can hide in trailing bytes
            if (!java.util.Arrays.equals(req.getEncoded(ASN1Encoding.DER), csrDer)) {
                throw new IllegalArgumentException("not canonical DER or trailing bytes");
            }
            infoDer = req.getCertificationRequestInfo().getEncoded(ASN1Encoding.DER);
            spkiDer = req.getCertificationRequestInfo().getSubjectPublicKeyInfo().getEncoded(ASN1Encoding.DER);
        } catch (IOException | RuntimeException e) {
            throw new CsrRejectedException(CsrRejectedException.Reason.MALFORMED,
                    "CSR is not a DER-encoded PKCS#10 request: " + e.getMessage());
        }
        SubjectPublicKeyInfo spki = req.getCertificationRequestInfo().getSubjectPublicKeyInfo();
        AlgorithmIdentifier keyAlg = spki.getAlgorithm();
        if (!X9ObjectIdentifiers.id_ecPublicKey.equals(keyAlg.getAlgorithm())) {
            throw new CsrRejectedException(CsrRejectedException.Reason.UNSUPPORTED_KEY, "CSR key algorithm "
                    + keyAlg.getAlgorithm().getId() + " is not supported; generate an ECDSA P-256 key");
        }
        if (!(keyAlg.getParameters() instanceof ASN1ObjectIdentifier curve)
                || !SECObjectIdentifiers.secp256r1.equals(curve)) {
            throw new CsrRejectedException(CsrRejectedException.Reason.UNSUPPORTED_KEY, "CSR key curve "
                    + keyAlg.getParameters() + " is not supported; generate an ECDSA P-256 (secp256r1) key");
        }
        byte[] rawPoint;
        try {
            var q = P256.decodePoint(spki.getPublicKeyData().getOctets()).normalize(); // throws if off-curve
            rawPoint = new byte[64];
            System.arraycopy(q.getAffineXCoord().getEncoded(), 0, rawPoint, 0, 32);
            System.arraycopy(q.getAffineYCoord().getEncoded(), 0, rawPoint, 32, 32);
        } catch (RuntimeException e) {
            throw new CsrRejectedException(CsrRejectedException.Reason.UNSUPPORTED_KEY,
                    "CSR public key is not a valid P-256 point");
        }
        ASN1ObjectIdentifier sigAlg = req.getSignatureAlgorithm().getAlgorithm();
        Signature verifier;
        if (X9ObjectIdentifiers.ecdsa_with_SHA256.equals(sigAlg)) {
            verifier = SHA256_ECDSA.get();
        } else if (X9ObjectIdentifiers.ecdsa_with_SHA384.equals(sigAlg)) {
            verifier = SHA384_ECDSA.get();
        } else {
            throw new CsrRejectedException(CsrRejectedException.Reason.UNSUPPORTED_SIGNATURE_ALGORITHM,
                    "CSR signature algorithm " + sigAlg.getId() + " is not supported; sign with ECDSA-SHA256");
        }
        PublicKey key;
        boolean ok;
        try {
            key = EC_KEYS.get().generatePublic(new X509EncodedKeySpec(spkiDer));
            byte[] sig = req.getSignature().getOctets();
            if (verifier == SHA256_ECDSA.get()) {
                // The common case runs on every attestation: BouncyCastle's lightweight ECDSA is several
                // times faster here than the JDK provider.
                ok = EcdsaP256.fromRaw(rawPoint).map(k -> EcdsaP256.verifyDer(k, infoDer, sig)).orElse(false);
            } else {
                verifier.initVerify(key);
                verifier.update(infoDer);
                ok = verifier.verify(sig);
            }
        } catch (GeneralSecurityException | RuntimeException e) {
            ok = false;
            key = null;
        }
        if (!ok) {
            throw new CsrRejectedException(CsrRejectedException.Reason.BAD_SIGNATURE,
                    "CSR signature does not verify with the CSR's own key; re-create the CSR with the node key");
        }
        return new ValidatedCsr(key, spkiDer);
    }

    private static Signature signature(String alg) {
        try {
            return Signature.getInstance(alg);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(alg + " is not available in this JVM", e);
        }
    }
}
