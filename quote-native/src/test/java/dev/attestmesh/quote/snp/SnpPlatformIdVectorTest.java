package dev.attestmesh.quote.snp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The platform id of verified SEV-SNP evidence is {@code snp-chip:} and the report's CHIP_ID, read here
 * straight from the vector bytes at FORMATS.md's offset 0x1A0 (64 bytes), or 0x20 + 0x1A0 inside an
 * Azure HCL report; none where the chip id is zero (VLEK-signed reports).
 */
class SnpPlatformIdVectorTest {
    private static final Instant AT = Instant.parse("2025-06-01T00:00:00Z");
    private static final int CHIP_ID = 0x1A0;
    private static final int HCL_REPORT_OFFSET = 0x20;

    private static VerifiedEvidence verify(String report, String vcek) throws EvidenceVerificationException {
        return SnpReportVerifier.create(SnpVectors.anchors(), VcekProvider.none()).verify(new VerificationRequest(
                TeeType.SNP, SnpVectors.read(report), Optional.of(SnpVectors.read(vcek)), AT));
    }

    private static String chipIdAt(String file, int reportOffset) {
        byte[] b = SnpVectors.read(file);
        return HexFormat.of().formatHex(Arrays.copyOfRange(b, reportOffset + CHIP_ID, reportOffset + CHIP_ID + 64));
    }

    @Test
    void goSevGuestMilanReportCarriesTheChipIdGoSevGuestLists() throws Exception {
        VerifiedEvidence e = verify("snp/go-sev-guest-milan/attestation.bin", "snp/go-sev-guest-milan/vcek.testcer");
        // MANIFEST.md, SOURCE (go-sev-guest tools/check/check_test.go): chip_id 3ac3fe21...006b5d.
        String chip = "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d";
        assertEquals(chip, chipIdAt("snp/go-sev-guest-milan/attestation.bin", 0));
        assertEquals(Optional.of("snp-chip:" + chip), e.platformId());
    }

    @Test
    void virteeAndTrusteeMilanReportsCarryTheirOwnChipIds() throws Exception {
        VerifiedEvidence virtee = verify("snp/virtee-sev-milan/report_milan.bin", "snp/virtee-sev-milan/vcek_milan.der");
        VerifiedEvidence trustee = verify("snp/trustee-milan/test-report.bin", "snp/trustee-milan/test-vcek.der");
        assertEquals(Optional.of("snp-chip:" + chipIdAt("snp/virtee-sev-milan/report_milan.bin", 0)), virtee.platformId());
        assertEquals(Optional.of("snp-chip:" + chipIdAt("snp/trustee-milan/test-report.bin", 0)), trustee.platformId());
        assertNotEquals(virtee.platformId(), trustee.platformId());
    }

    @Test
    void vlekReportWithItsZeroChipIdHasNoPlatformId() throws Exception {
        assertEquals("00".repeat(64), chipIdAt("snp/trustee-milan/test-vlek-report.bin", 0));
        VerifiedEvidence e = verify("snp/trustee-milan/test-vlek-report.bin", "snp/trustee-milan/test-vlek.der");
        assertEquals(Optional.empty(), e.platformId(), "a zero chip id would make every VLEK machine one platform");
    }

    @Test
    void azureHclReportCarriesTheChipIdOfTheSnpReportItWraps() throws Exception {
        String hcl = "snp/trustee-azure-genoa/evidence-genoa.hcl-report.DERIVED.bin";
        VerifiedEvidence wrapped = verify(hcl, "snp/trustee-azure-genoa/vcek-genoa.pem");
        VerifiedEvidence bare = verify("snp/trustee-azure-genoa/snp-report-genoa.DERIVED.bin",
                "snp/trustee-azure-genoa/vcek-genoa.pem");
        assertEquals(Optional.of("snp-chip:" + chipIdAt(hcl, HCL_REPORT_OFFSET)), wrapped.platformId());
        assertEquals(bare.platformId(), wrapped.platformId());
        String milanHcl = "snp/trustee-azure-milan-hcl/hcl-report.bin";
        assertEquals(Optional.of("snp-chip:" + chipIdAt(milanHcl, HCL_REPORT_OFFSET)),
                verify(milanHcl, "snp/trustee-azure-milan-hcl/vcek.pem").platformId());
    }
}
