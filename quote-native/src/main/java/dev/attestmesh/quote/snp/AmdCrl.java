package dev.attestmesh.quote.snp;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.VerificationCheck;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CRLException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509CRLEntry;
import java.security.cert.X509Certificate;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.time.Instant;
import java.util.List;
import javax.security.auth.x500.X500Principal;

/**
 * An AMD certificate revocation list as KDS serves it ({@code /vcek/v1/{product}/crl}, {@code
 * /vlek/v1/{product}/crl}): DER (or PEM), issued and signed by the product's ARK with RSASSA-PSS
 * (SHA-384, MGF1-SHA-384, salt 48), listing revoked ASK/ASVK and VCEK/VLEK serial numbers.
 *
 * <p>{@link #check} is the whole revocation check: size bound, parse, issuer and signature against the
 * ARK's key, validity window at the verification time, and each certificate's serial. Each failure is a
 * {@link VerificationCheck#AMD_CRL} rejection, except an expired or not-yet-valid CRL ({@code
 * COLLATERAL_EXPIRED}).
 */
public final class AmdCrl {
    /** Largest CRL accepted: AMD's are a few KiB. */
    public static final int MAX_BYTES = 256 * 1024;
    private static final String RSASSA_PSS = "1.2.840.113549.1.1.10";

    private AmdCrl() {
    }

    /** Parses a DER or PEM CRL, refusing one larger than {@link #MAX_BYTES}. */
    public static X509CRL parse(byte[] bytes) throws EvidenceVerificationException {
        if (bytes.length > MAX_BYTES) {
            throw new EvidenceVerificationException(VerificationCheck.AMD_CRL, "the AMD CRL is " + bytes.length
                    + " bytes; at most " + MAX_BYTES + " are accepted");
        }
        try {
            return (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(new ByteArrayInputStream(bytes));
        } catch (CRLException | java.security.cert.CertificateException | RuntimeException e) {
            throw new EvidenceVerificationException(VerificationCheck.AMD_CRL, "the AMD CRL is not a DER or PEM X.509 CRL");
        }
    }

    /**
     * Checks {@code certificates} against {@code crl}.
     *
     * @param crl the CRL, from {@link #parse}
     * @param issuer the name the CRL must carry (the ARK's subject)
     * @param issuerKey the ARK's public key (a test key stands in for it in tests, through this same code)
     * @param certificates the certificates that must not be revoked (ASK/ASVK, VCEK/VLEK)
     * @param at the verification time
     */
    public static void check(X509CRL crl, X500Principal issuer, PublicKey issuerKey, List<X509Certificate> certificates,
            Instant at) throws EvidenceVerificationException {
        if (!crl.getIssuerX500Principal().equals(issuer)) {
            throw new EvidenceVerificationException(VerificationCheck.AMD_CRL, "the CRL is issued by '"
                    + AmdCertificateDecoder.commonName(crl.getIssuerX500Principal()) + "', not by '"
                    + AmdCertificateDecoder.commonName(issuer) + "'");
        }
        if (!RSASSA_PSS.equals(crl.getSigAlgOID())) {
            throw new EvidenceVerificationException(VerificationCheck.AMD_CRL, "the CRL's signature algorithm "
                    + crl.getSigAlgName() + " is not RSASSA-PSS");
        }
        try {
            Signature pss = Signature.getInstance("RSASSA-PSS");
            pss.setParameter(new PSSParameterSpec("SHA-384", "MGF1", MGF1ParameterSpec.SHA384, 48, 1));
            pss.initVerify(issuerKey);
            pss.update(crl.getTBSCertList());
            if (!pss.verify(crl.getSignature())) {
                throw new EvidenceVerificationException(VerificationCheck.AMD_CRL, "the CRL's signature does not verify"
                        + " with the key of '" + AmdCertificateDecoder.commonName(issuer) + "'; it was altered or forged");
            }
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new EvidenceVerificationException(VerificationCheck.AMD_CRL, "the CRL's signature could not be checked: "
                    + e.getMessage(), e);
        }
        Instant thisUpdate = crl.getThisUpdate().toInstant();
        Instant nextUpdate = crl.getNextUpdate() == null ? null : crl.getNextUpdate().toInstant();
        if (at.isBefore(thisUpdate) || (nextUpdate != null && at.isAfter(nextUpdate))) {
            throw new EvidenceVerificationException(VerificationCheck.COLLATERAL_EXPIRED, "the AMD CRL is valid "
                    + thisUpdate + " to " + (nextUpdate == null ? "(no nextUpdate)" : nextUpdate) + ", not at " + at);
        }
        for (X509Certificate c : certificates) {
            X509CRLEntry entry = crl.getRevokedCertificate(c.getSerialNumber());
            if (entry != null && !entry.getRevocationDate().toInstant().isAfter(at)) {
                throw new EvidenceVerificationException(VerificationCheck.AMD_CRL, "certificate '"
                        + AmdCertificateDecoder.commonName(c.getSubjectX500Principal()) + "' (serial "
                        + hex(c.getSerialNumber()) + ") was revoked by AMD on " + entry.getRevocationDate().toInstant());
            }
        }
    }

    private static String hex(BigInteger serial) {
        return serial.toString(16);
    }
}
