package dev.attestmesh.quote.snp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.trust.AmdTrustAnchors;
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;

/** How the verifier combines configured anchors with certificates sent as collateral. */
class SnpReportVerifierAnchorTest {
    private static final Instant AT = Instant.parse("2025-06-01T00:00:00Z");

    private static SnpReportVerifier withoutAnchors() {
        return SnpReportVerifier.create(AmdTrustAnchors.fromCertificates(List.of()), VcekProvider.none());
    }

    private static VerificationRequest request(byte[] report, byte[] collateral) {
        return new VerificationRequest(TeeType.SNP, report, Optional.of(collateral), AT);
    }

    private static String pem(X509Certificate c) throws Exception {
        return "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder().encodeToString(c.getEncoded())
                + "\n-----END CERTIFICATE-----\n";
    }

    @Test
    void acceptsAPinnedArkAndAskSentWithTheVcekWhenNoAnchorsAreConfigured() throws Exception {
        byte[] vcekAskArk = SnpVectors.read("snp/trustee-azure-milan-hcl/vcek.pem");
        withoutAnchors().verify(request(SnpVectors.read("snp/trustee-azure-milan-hcl/snp-report.DERIVED.bin"), vcekAskArk));
    }

    @Test
    void reportsMissingAnchorsAsUnavailableCollateral() {
        EvidenceVerificationException e = assertThrows(EvidenceVerificationException.class, () -> withoutAnchors().verify(
                request(SnpVectors.read("snp/trustee-milan/test-report.bin"), SnpVectors.read("snp/trustee-milan/test-vcek.der"))));
        assertEquals(VerificationCheck.COLLATERAL_UNAVAILABLE, e.check());
        assertTrue(e.getMessage().contains("ARK-Milan"), e.getMessage());
    }

    @Test
    void rejectsAnArkInTheCollateralThatIsNotThePinnedOne() throws Exception {
        var kpg = KeyPairGenerator.getInstance("RSA");
        kpg.initialize(2048);
        var kp = kpg.generateKeyPair();
        X500Name name = new X500Name("CN=ARK-Milan, O=Advanced Micro Devices");
        BouncyCastleProvider bc = new BouncyCastleProvider();
        X509Certificate fakeArk = new JcaX509CertificateConverter().setProvider(bc).getCertificate(
                new JcaX509v3CertificateBuilder(name, BigInteger.ONE, new Date(0), new Date(4_000_000_000_000L), name,
                        kp.getPublic()).build(new JcaContentSignerBuilder("SHA384withRSAandMGF1").setProvider(bc)
                        .build(kp.getPrivate())));
        ByteArrayOutputStream collateral = new ByteArrayOutputStream();
        collateral.write(pem(SnpVectors.cert("snp/trustee-milan/test-vcek.der")).getBytes(StandardCharsets.US_ASCII));
        collateral.write(pem(fakeArk).getBytes(StandardCharsets.US_ASCII));
        SnpReportVerifier verifier = SnpReportVerifier.create(SnpVectors.anchors(), VcekProvider.none());
        EvidenceVerificationException e = assertThrows(EvidenceVerificationException.class,
                () -> verifier.verify(request(SnpVectors.read("snp/trustee-milan/test-report.bin"), collateral.toByteArray())));
        assertEquals(VerificationCheck.TRUST_ANCHOR, e.check());
    }

    @Test
    void ignoresCollateralCertificatesThatBelongToAnotherProduct() throws Exception {
        // Genoa's ASK (SEV-Genoa) cannot issue a Milan VCEK; the configured Milan ASK is used instead.
        byte[] collateral = (pem(SnpVectors.cert("snp/trustee-milan/test-vcek.der"))
                + new String(SnpVectors.read("roots/amd/virtee_genoa_ask.pem"), StandardCharsets.US_ASCII))
                .getBytes(StandardCharsets.US_ASCII);
        SnpReportVerifier verifier = SnpReportVerifier.create(SnpVectors.anchors(), VcekProvider.none());
        assertEquals(TeeType.SNP, verifier.verify(request(SnpVectors.read("snp/trustee-milan/test-report.bin"), collateral)).tee());
    }
}
