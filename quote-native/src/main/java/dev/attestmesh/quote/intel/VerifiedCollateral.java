package dev.attestmesh.quote.intel;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.collateral.CollateralAuthenticity;
import dev.attestmesh.quote.collateral.CollateralAuthenticityException;
import dev.attestmesh.quote.collateral.CollateralParseException;
import dev.attestmesh.quote.collateral.CollateralVersion;
import dev.attestmesh.quote.collateral.CollateralVersions;
import dev.attestmesh.quote.collateral.QeIdentity;
import dev.attestmesh.quote.collateral.QuoteCollateral;
import dev.attestmesh.quote.collateral.SignedCollateral;
import dev.attestmesh.quote.collateral.TcbInfo;
import dev.attestmesh.quote.trust.EcdsaP256;
import dev.attestmesh.quote.trust.IntelTrustAnchors;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Collateral whose signatures, issuer chains and CRLs have been checked for one PCK chain. What
 * remains time-dependent is kept as validity windows: {@link #checkValidAt(Instant)} must pass for
 * every request. Instances are immutable and safe to cache per (collateral, PCK chain).
 *
 * @param windows windows that must all contain the verification time
 * @param tcbSigningWindows windows of the TCB Signing certificates that verified the TCB Info; one
 *     must contain the verification time
 * @param qeSigningWindows likewise for the QE Identity
 * @param versions evaluation numbers, CRL numbers and issue times of the four items, for the floor
 */
record VerifiedCollateral(TcbInfo tcbInfo, QeIdentity qeIdentity, List<ValidityWindow> windows,
        List<ValidityWindow> tcbSigningWindows, List<ValidityWindow> qeSigningWindows, CollateralVersions versions) {

    void checkValidAt(Instant at) throws EvidenceVerificationException {
        for (ValidityWindow w : windows) {
            w.check(at);
        }
        anyValid(tcbSigningWindows, at, "TCB Info");
        anyValid(qeSigningWindows, at, "QE Identity");
    }

    private static void anyValid(List<ValidityWindow> ws, Instant at, String what) throws EvidenceVerificationException {
        for (ValidityWindow w : ws) {
            if (w.contains(at)) {
                return;
            }
        }
        throw new EvidenceVerificationException(VerificationCheck.COLLATERAL_EXPIRED,
                "no TCB Signing certificate that verifies the " + what + " is valid at " + at + " (windows: "
                        + ws.stream().map(w -> w.from() + ".." + w.until()).toList()
                        + "); configure the current Intel SGX TCB Signing certificate");
    }

    static VerifiedCollateral verify(QuoteCollateral c, PckCertificateChain chain, IntelTrustAnchors anchors,
            EcdsaP256.VerifyingKey rootKey)
            throws EvidenceVerificationException {
        List<ValidityWindow> windows = new ArrayList<>();
        X509CRL rootCrl = crl(c.rootCaCrl().der(), VerificationCheck.ROOT_CRL, "Root CA CRL");
        if (!rootCrl.getIssuerX500Principal().equals(anchors.root().getSubjectX500Principal())) {
            throw new EvidenceVerificationException(VerificationCheck.ROOT_CRL,
                    "the Root CA CRL is issued by '" + rootCrl.getIssuerX500Principal().getName() + "', not the Intel SGX Root CA");
        }
        verifyCrl(rootCrl, rootKey, VerificationCheck.ROOT_CRL, "Root CA CRL", "Intel SGX Root CA");
        windows.add(crlWindow(rootCrl, "Root CA CRL"));
        if (rootCrl.isRevoked(chain.intermediate())) {
            throw new EvidenceVerificationException(VerificationCheck.ROOT_CRL,
                    "the PCK CA certificate (serial " + chain.intermediate().getSerialNumber().toString(16)
                            + ") is revoked by the Intel SGX Root CA CRL");
        }

        X509CRL pckCrl = crl(c.pckCrl().der(), VerificationCheck.PCK_CRL, "PCK CRL");
        if (!pckCrl.getIssuerX500Principal().equals(chain.intermediate().getSubjectX500Principal())) {
            throw new EvidenceVerificationException(VerificationCheck.PCK_CRL, "the PCK CRL is issued by '"
                    + pckCrl.getIssuerX500Principal().getName() + "', but the quote's PCK certificate comes from '"
                    + chain.ca().commonName() + "'; supply that CA's CRL");
        }
        verifyCrl(pckCrl, chain.intermediateKey(), VerificationCheck.PCK_CRL, "PCK CRL", chain.ca().commonName());
        try {
            CollateralAuthenticity.deliveredChain(c.pckCrl().issuerChain(), anchors, List.of(chain.intermediate()), "PCK CRL");
        } catch (CollateralAuthenticityException e) {
            throw new EvidenceVerificationException(VerificationCheck.PCK_CRL, e.getMessage(), e);
        }
        windows.add(crlWindow(pckCrl, "PCK CRL"));
        if (pckCrl.isRevoked(chain.leaf())) {
            throw new EvidenceVerificationException(VerificationCheck.PCK_CRL, "the PCK certificate (serial "
                    + chain.leaf().getSerialNumber().toString(16) + ") is revoked by the " + chain.ca().commonName() + " CRL");
        }

        // TCB Info and QE Identity are normally signed by the same certificate: check it against the
        // root once and verify both documents with one decoded key.
        Map<String, Optional<EcdsaP256.VerifyingKey>> signingKeys = new HashMap<>();
        List<ValidityWindow> tcbSigning = verifySigned(c.tcbInfo(), anchors, rootCrl, signingKeys,
                VerificationCheck.TCB_INFO_SIGNATURE, "TCB Info");
        List<ValidityWindow> qeSigning = verifySigned(c.qeIdentity(), anchors, rootCrl, signingKeys,
                VerificationCheck.QE_IDENTITY_SIGNATURE, "QE Identity");
        TcbInfo tcbInfo;
        QeIdentity qe;
        try {
            tcbInfo = TcbInfo.parse(c.tcbInfo().body());
        } catch (CollateralParseException e) {
            throw new EvidenceVerificationException(VerificationCheck.COLLATERAL_MISMATCH,
                    "the signed TCB Info is not understood: " + e.getMessage(), e);
        }
        try {
            qe = QeIdentity.parse(c.qeIdentity().body());
        } catch (CollateralParseException e) {
            throw new EvidenceVerificationException(VerificationCheck.COLLATERAL_MISMATCH,
                    "the signed QE Identity is not understood: " + e.getMessage(), e);
        }
        windows.add(new ValidityWindow("TCB Info (issueDate..nextUpdate)", tcbInfo.issueDate(), tcbInfo.nextUpdate()));
        windows.add(new ValidityWindow("QE Identity (issueDate..nextUpdate)", qe.issueDate(), qe.nextUpdate()));
        CollateralVersions versions = new CollateralVersions(Optional.of(CollateralVersion.of(tcbInfo)),
                Optional.of(CollateralVersion.of(qe)),
                Optional.of(CollateralVersion.of(CollateralVersion.Kind.PCK_CRL, pckCrl)),
                Optional.of(CollateralVersion.of(CollateralVersion.Kind.ROOT_CA_CRL, rootCrl)));
        return new VerifiedCollateral(tcbInfo, qe, List.copyOf(windows), tcbSigning, qeSigning, versions);
    }

    /**
     * Verifies a TCB Info / QE Identity signature ({@link CollateralAuthenticity#signedDocument}) with
     * a TCB Signing certificate not revoked by the Root CA CRL; returns the validity windows of every
     * candidate that verified.
     */
    private static List<ValidityWindow> verifySigned(SignedCollateral doc, IntelTrustAnchors anchors, X509CRL rootCrl,
            Map<String, Optional<EcdsaP256.VerifyingKey>> checked, VerificationCheck check, String what)
            throws EvidenceVerificationException {
        try {
            List<ValidityWindow> ok = new ArrayList<>();
            for (X509Certificate c : CollateralAuthenticity.signedDocument(doc, anchors, rootCrl::isRevoked, checked, what)) {
                ok.add(ValidityWindow.of(c, "TCB Signing certificate"));
            }
            return List.copyOf(ok);
        } catch (CollateralAuthenticityException e) {
            throw new EvidenceVerificationException(check, e.getMessage(), e);
        }
    }

    private static X509CRL crl(byte[] der, VerificationCheck check, String what) throws EvidenceVerificationException {
        try {
            return (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(new ByteArrayInputStream(der));
        } catch (Exception e) {
            throw new EvidenceVerificationException(check, "the " + what + " is not a DER X.509 CRL", e);
        }
    }

    private static void verifyCrl(X509CRL crl, EcdsaP256.VerifyingKey key, VerificationCheck check, String what,
            String issuer) throws EvidenceVerificationException {
        if (!EcdsaP256.verifyCrl(crl, key)) {
            throw new EvidenceVerificationException(check, "the " + what + " signature does not verify with the "
                    + issuer + " key");
        }
    }

    private static ValidityWindow crlWindow(X509CRL crl, String what) throws EvidenceVerificationException {
        if (crl.getNextUpdate() == null) {
            throw new EvidenceVerificationException(VerificationCheck.COLLATERAL_EXPIRED,
                    "the " + what + " has no nextUpdate, so its freshness cannot be judged");
        }
        return new ValidityWindow(what + " (thisUpdate..nextUpdate)", crl.getThisUpdate().toInstant(),
                crl.getNextUpdate().toInstant());
    }
}
