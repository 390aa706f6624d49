package dev.attestmesh.quote.snp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** One test per SEV-SNP vector of MANIFEST.md with an expected outcome. */
class SnpReportVerifierVectorTest {
    private static final Instant AT = Instant.parse("2025-06-01T00:00:00Z");
    private static final HexFormat HEX = HexFormat.of();

    private static SnpReportVerifier verifier() {
        return SnpReportVerifier.create(SnpVectors.anchors(), VcekProvider.none());
    }

    private static VerifiedEvidence verify(SnpReportVerifier v, byte[] report, byte[] vcek, Instant at)
            throws EvidenceVerificationException {
        return v.verify(new VerificationRequest(TeeType.SNP, report, Optional.of(vcek), at));
    }

    private static VerificationCheck failure(SnpReportVerifier v, byte[] report, byte[] vcek, Instant at) {
        return assertThrows(EvidenceVerificationException.class, () -> verify(v, report, vcek, at)).check();
    }

    private static String zeros(int bytes) {
        return "00".repeat(bytes);
    }

    @Test
    void goSevGuestMilanReportVerifiesWithTheListedValues() throws Exception {
        VerifiedEvidence e = verify(verifier(), SnpVectors.read("snp/go-sev-guest-milan/attestation.bin"),
                SnpVectors.read("snp/go-sev-guest-milan/vcek.testcer"), AT);
        assertEquals(TcbStatus.UP_TO_DATE, e.tcbStatus());
        assertEquals("b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01",
                e.primaryMeasurement());
        assertEquals("0102030405" + zeros(59), HEX.formatHex(e.reportData()));
        String chip = "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d";
        assertEquals(chip, e.measurements().get("chip_id"));
        assertEquals(Optional.of(chip), e.fmspcOrChip());
        assertEquals("8edc638e1857c555d21f6b11bda3c8b1b5a09dba4852b4c8ee7aa2f16f22cc0a", e.measurements().get("report_id"));
        assertEquals("ff".repeat(32), e.measurements().get("report_id_ma"));
        assertEquals(zeros(32), e.measurements().get("host_data"));
        assertEquals(zeros(16), e.measurements().get("family_id"));
        assertEquals(zeros(16), e.measurements().get("image_id"));
        assertEquals(0xB0000L, e.numbers().get("policy"));
        assertTrue(e.debug(), "policy 0xB0000 has the debug bit 19 set");
        assertEquals(0L, e.numbers().get("vmpl"));
        assertEquals(1L, e.numbers().get("platform_info"));
        assertEquals(2L, e.numbers().get("version"));
        for (String tcb : new String[] {"reported_tcb", "launch_tcb", "committed_tcb", "current_tcb"}) {
            assertEquals(2L, e.numbers().get(tcb + ".bootloader"), tcb);
            assertEquals(0L, e.numbers().get(tcb + ".tee"), tcb);
            assertEquals(5L, e.numbers().get(tcb + ".snp"), tcb);
            assertEquals(68L, e.numbers().get(tcb + ".microcode"), tcb);
        }
        assertEquals(1L, e.numbers().get("current_firmware.major"));
        assertEquals(49L, e.numbers().get("current_firmware.minor"));
        assertEquals(3L, e.numbers().get("current_firmware.build"));
        assertFalse(e.numbers().containsKey("reported_tcb.fmc"), "Milan has no FMC component");
        assertFalse(e.insecure());
    }

    @Test
    void goSevGuestMilanChainVerifiesAtTheVcekIssueTime() throws Exception {
        Instant justAfterIssue = Instant.parse("2022-09-24T01:00:00Z");
        verify(verifier(), SnpVectors.read("snp/go-sev-guest-milan/attestation.bin"),
                SnpVectors.read("snp/go-sev-guest-milan/vcek.testcer"), justAfterIssue);
        assertEquals(VerificationCheck.COLLATERAL_EXPIRED, failure(verifier(),
                SnpVectors.read("snp/go-sev-guest-milan/attestation.bin"),
                SnpVectors.read("snp/go-sev-guest-milan/vcek.testcer"), Instant.parse("2022-09-24T00:50:00Z")));
    }

    @Test
    void goSevGuestProductCheckAcceptsSteppingZeroAndRejectsStepping12() throws Exception {
        byte[] report = SnpVectors.read("snp/go-sev-guest-milan/attestation.bin");
        byte[] vcek = SnpVectors.read("snp/go-sev-guest-milan/vcek.testcer");
        SnpReportVerifier stepping0 = SnpReportVerifier.create(SnpVectors.anchors(), VcekProvider.none(),
                SnpVerifierOptions.requireProduct(SnpProduct.MILAN, 0));
        verify(stepping0, report, vcek, AT);
        SnpReportVerifier stepping12 = SnpReportVerifier.create(SnpVectors.anchors(), VcekProvider.none(),
                SnpVerifierOptions.requireProduct(SnpProduct.MILAN, 12));
        EvidenceVerificationException e = assertThrows(EvidenceVerificationException.class,
                () -> verify(stepping12, report, vcek, AT));
        assertEquals(VerificationCheck.VCEK_TCB, e.check());
        assertTrue(e.getMessage().contains("expected product stepping 12, got 0"), e.getMessage());
        SnpReportVerifier genoa = SnpReportVerifier.create(SnpVectors.anchors(), VcekProvider.none(),
                SnpVerifierOptions.requireProduct(SnpProduct.GENOA, 0));
        assertEquals(VerificationCheck.VCEK_TCB, assertThrows(EvidenceVerificationException.class,
                () -> verify(genoa, report, vcek, AT)).check());
    }

    @Test
    void virteeMilanReportVerifiesWithTheListedValues() throws Exception {
        VerifiedEvidence e = verify(verifier(), SnpVectors.read("snp/virtee-sev-milan/report_milan.bin"),
                SnpVectors.read("snp/virtee-sev-milan/vcek_milan.der"), AT);
        assertEquals("7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f",
                e.primaryMeasurement());
        assertTrue(HEX.formatHex(e.reportData()).startsWith("d447b55d"));
        assertTrue(HEX.formatHex(e.reportData()).endsWith("93ebfd"));
        assertEquals(0x30000L, e.numbers().get("policy"));
        assertFalse(e.debug());
        assertEquals(3L, e.numbers().get("reported_tcb.bootloader"));
        assertEquals(8L, e.numbers().get("reported_tcb.snp"));
        assertEquals(0x73L, e.numbers().get("reported_tcb.microcode"));
        assertEquals(52L, e.numbers().get("current_firmware.minor"));
        assertEquals(4L, e.numbers().get("current_firmware.build"));
    }

    @Test
    void virteeMilanReportWithByte21FlippedFailsTheSignature() {
        byte[] report = SnpVectors.read("snp/virtee-sev-milan/report_milan.bin");
        report[21] ^= (byte) 0x80;
        assertEquals(VerificationCheck.QUOTE_SIGNATURE,
                failure(verifier(), report, SnpVectors.read("snp/virtee-sev-milan/vcek_milan.der"), AT));
    }

    @Test
    void virteeMilanVcekWithByte40FlippedFailsTheChain() {
        byte[] vcek = SnpVectors.read("snp/virtee-sev-milan/vcek_milan.der");
        vcek[40] ^= (byte) 0xff;
        assertEquals(VerificationCheck.VCEK_CHAIN,
                failure(verifier(), SnpVectors.read("snp/virtee-sev-milan/report_milan.bin"), vcek, AT));
    }

    @Test
    void trusteeMilanReportVerifiesWithTheListedValues() throws Exception {
        VerifiedEvidence e = verify(verifier(), SnpVectors.read("snp/trustee-milan/test-report.bin"),
                SnpVectors.read("snp/trustee-milan/test-vcek.der"), AT);
        assertEquals("a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c",
                e.primaryMeasurement());
        assertEquals(4L, e.numbers().get("guest_svn"));
        assertEquals(0x3001fL, e.numbers().get("policy"));
    }

    @Test
    void trusteeMilanReportWithByte42IncrementedFailsTheSignature() {
        byte[] report = SnpVectors.read("snp/trustee-milan/test-report.bin");
        report[42]++;
        assertEquals(VerificationCheck.QUOTE_SIGNATURE,
                failure(verifier(), report, SnpVectors.read("snp/trustee-milan/test-vcek.der"), AT));
    }

    @Test
    void trusteeMilanReportWithByte384IncrementedFailsTheTcbCheck() {
        byte[] report = SnpVectors.read("snp/trustee-milan/test-report.bin");
        report[384]++;
        assertEquals(VerificationCheck.VCEK_TCB,
                failure(verifier(), report, SnpVectors.read("snp/trustee-milan/test-vcek.der"), AT));
    }

    @Test
    void trusteeMilanReportIsRejectedWithAnotherChipsVcek() {
        assertEquals(VerificationCheck.VCEK_TCB, failure(verifier(), SnpVectors.read("snp/trustee-milan/test-report.bin"),
                SnpVectors.read("snp/virtee-sev-milan/vcek_milan.der"), AT));
    }

    @Test
    void trusteeVlekReportVerifiesThroughTheAsvkInsideTheVlekValidity() throws Exception {
        VerifiedEvidence e = verify(verifier(), SnpVectors.read("snp/trustee-milan/test-vlek-report.bin"),
                SnpVectors.read("snp/trustee-milan/test-vlek.der"), AT);
        assertEquals(1L, e.numbers().get("vmpl"));
        assertEquals(3L, e.numbers().get("version"));
        assertEquals(1L, e.numbers().get("signing_key"));
        assertEquals(zeros(64), e.measurements().get("chip_id"));
        assertEquals(Optional.empty(), e.fmspcOrChip(), "a VLEK report names no chip");
        assertEquals(4L, e.numbers().get("reported_tcb.bootloader"));
        assertEquals(0x18L, e.numbers().get("reported_tcb.snp"));
        assertEquals(0xd9L, e.numbers().get("reported_tcb.microcode"));
    }

    @Test
    void trusteeVlekReportIsRejectedAfterTheVlekExpires() {
        assertEquals(VerificationCheck.COLLATERAL_EXPIRED, failure(verifier(),
                SnpVectors.read("snp/trustee-milan/test-vlek-report.bin"), SnpVectors.read("snp/trustee-milan/test-vlek.der"),
                Instant.parse("2025-12-11T00:00:00Z")));
    }

    @Test
    void vlekReportIsRejectedWithAVcek() {
        assertEquals(VerificationCheck.COLLATERAL_MISMATCH, failure(verifier(),
                SnpVectors.read("snp/trustee-milan/test-vlek-report.bin"), SnpVectors.read("snp/trustee-milan/test-vcek.der"), AT));
    }

    @Test
    void genoaReportFromAzureVerifiesWithTheListedValues() throws Exception {
        VerifiedEvidence e = verify(verifier(), SnpVectors.read("snp/trustee-azure-genoa/snp-report-genoa.DERIVED.bin"),
                SnpVectors.read("snp/trustee-azure-genoa/vcek-genoa.pem"), AT);
        assertEquals("f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3706faf814c9e61065768a6ff917c89ae",
                e.primaryMeasurement());
        assertEquals(10L, e.numbers().get("reported_tcb.bootloader"));
        assertEquals(23L, e.numbers().get("reported_tcb.snp"));
        assertEquals(84L, e.numbers().get("reported_tcb.microcode"));
        assertEquals(0x19L, e.numbers().get("cpuid.family"));
        assertEquals(0x11L, e.numbers().get("cpuid.model"));
        assertEquals(3L, e.numbers().get("version"));
    }

    @Test
    void genoaAzureHclReportVerifiesIncludingItsRuntimeDataBinding() throws Exception {
        byte[] hcl = SnpVectors.read("snp/trustee-azure-genoa/evidence-genoa.hcl-report.DERIVED.bin");
        VerifiedEvidence e = verify(verifier(), hcl, SnpVectors.read("snp/trustee-azure-genoa/vcek-genoa.pem"), AT);
        assertEquals("f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3706faf814c9e61065768a6ff917c89ae",
                e.primaryMeasurement());
    }

    @Test
    void azureMilanHclReportVerifiesWithVcekAskArkCollateral() throws Exception {
        VerifiedEvidence e = verify(verifier(), SnpVectors.read("snp/trustee-azure-milan-hcl/hcl-report.bin"),
                SnpVectors.read("snp/trustee-azure-milan-hcl/vcek.pem"), AT);
        assertEquals(5L, e.numbers().get("guest_svn"));
        verify(verifier(), SnpVectors.read("snp/trustee-azure-milan-hcl/snp-report.DERIVED.bin"),
                SnpVectors.read("snp/trustee-azure-milan-hcl/vcek.pem"), AT);
    }

    @Test
    void azureMilanHclReportWithSnpVersionZeroedFailsTheTcbCheck() {
        byte[] hcl = SnpVectors.read("snp/trustee-azure-milan-hcl/hcl-report.bin");
        hcl[0x1A6] = 0;
        assertEquals(VerificationCheck.VCEK_TCB,
                failure(verifier(), hcl, SnpVectors.read("snp/trustee-azure-milan-hcl/vcek.pem"), AT));
    }

    @Test
    void azureMilanHclReportWithAlteredRuntimeDataFailsTheBinding() {
        byte[] hcl = SnpVectors.read("snp/trustee-azure-milan-hcl/hcl-report.bin");
        hcl[0x4C0 + 20 + 10] ^= 1;
        EvidenceVerificationException e = assertThrows(EvidenceVerificationException.class, () -> verify(verifier(), hcl,
                SnpVectors.read("snp/trustee-azure-milan-hcl/vcek.pem"), AT));
        assertEquals(VerificationCheck.HCL_REPORT_DATA_BINDING, e.check());
        assertTrue(e.getMessage().contains("HCL runtime data"), e.getMessage());
    }

    @Test
    void trusteeInvalidVcekExtensionsDecodeAndDoNotVerifyTheReport() throws Exception {
        AmdSigningCertificate legacy = AmdSigningCertificate.of(SnpVectors.cert("snp/trustee-milan/test-vcek-invalid-legacy.der"));
        assertEquals(10, legacy.snpSpl());
        assertEquals(0xa9, legacy.microcodeSpl());
        assertEquals(64, legacy.hwId().orElseThrow().length);
        AmdSigningCertificate wrapped = AmdSigningCertificate.of(SnpVectors.cert("snp/trustee-milan/test-vcek-invalid-new.der"));
        assertEquals(64, wrapped.hwId().orElseThrow().length, "a hwID wrapped in an OCTET STRING is unwrapped");
        assertEquals(0x1e, wrapped.microcodeSpl());
        for (String f : new String[] {"test-vcek-invalid-legacy.der", "test-vcek-invalid-new.der"}) {
            // Their signatures are not AMD's: the ASK does not sign them.
            assertEquals(VerificationCheck.VCEK_CHAIN, failure(verifier(), SnpVectors.read("snp/trustee-milan/test-report.bin"),
                    SnpVectors.read("snp/trustee-milan/" + f), AT), f);
        }
    }

    @Test
    void reportWithoutCollateralIsUnavailableWhenNoProviderIsConfigured() {
        EvidenceVerificationException e = assertThrows(EvidenceVerificationException.class, () -> verifier().verify(
                VerificationRequest.of(TeeType.SNP, SnpVectors.read("snp/trustee-milan/test-report.bin"), AT)));
        assertEquals(VerificationCheck.COLLATERAL_UNAVAILABLE, e.check());
    }

    @Test
    void truncatedReportIsAParseFailure() {
        byte[] report = java.util.Arrays.copyOf(SnpVectors.read("snp/trustee-milan/test-report.bin"), 1000);
        assertEquals(VerificationCheck.PARSE, failure(verifier(), report, SnpVectors.read("snp/trustee-milan/test-vcek.der"), AT));
    }

    @Test
    void repeatedVerificationGivesTheSameClaims() throws Exception {
        SnpReportVerifier v = verifier();
        byte[] report = SnpVectors.read("snp/virtee-sev-milan/report_milan.bin");
        byte[] vcek = SnpVectors.read("snp/virtee-sev-milan/vcek_milan.der");
        VerifiedEvidence first = verify(v, report, vcek, AT);
        VerifiedEvidence second = verify(v, report, vcek, AT);
        assertEquals(first.measurements(), second.measurements());
        assertEquals(first.numbers(), second.numbers());
        // Cached chain results must not hide a tampered report.
        report[0x90] ^= 1;
        assertEquals(VerificationCheck.QUOTE_SIGNATURE, failure(v, report, vcek, AT));
    }
}
