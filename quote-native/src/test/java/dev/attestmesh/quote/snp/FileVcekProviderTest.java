package dev.attestmesh.quote.snp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationRequest;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class FileVcekProviderTest {
    private static final Instant AT = Instant.parse("2025-06-01T00:00:00Z");

    @Test
    void findsEachReportsCertificateByChipAndTcbAmongAllVectorCertificates() throws Exception {
        FileVcekProvider files = FileVcekProvider.load(SnpVectors.root().resolve("snp"));
        assertTrue(files.size() >= 8, "found " + files.size());
        SnpReport trustee = SnpReport.parse(SnpVectors.read("snp/trustee-milan/test-report.bin"));
        assertArrayEquals(SnpVectors.read("snp/trustee-milan/test-vcek.der"), files.fetch(VcekRequest.forReport(trustee)));
        SnpReport vlek = SnpReport.parse(SnpVectors.read("snp/trustee-milan/test-vlek-report.bin"));
        assertArrayEquals(SnpVectors.read("snp/trustee-milan/test-vlek.der"), files.fetch(VcekRequest.forReport(vlek)));
    }

    @Test
    void verifierUsesTheFileProviderWhenNoCollateralIsSent() throws Exception {
        SnpReportVerifier verifier = SnpReportVerifier.create(SnpVectors.anchors(),
                FileVcekProvider.load(SnpVectors.root().resolve("snp")));
        for (String report : new String[] {"snp/go-sev-guest-milan/attestation.bin", "snp/virtee-sev-milan/report_milan.bin",
                "snp/trustee-azure-genoa/snp-report-genoa.DERIVED.bin", "snp/trustee-milan/test-vlek-report.bin"}) {
            assertEquals(TeeType.SNP, verifier.verify(VerificationRequest.of(TeeType.SNP, SnpVectors.read(report), AT)).tee());
        }
    }

    @Test
    void namesTheChipAndTcbWhenNothingMatches() throws Exception {
        FileVcekProvider files = FileVcekProvider.load(SnpVectors.root().resolve("snp"));
        VcekUnavailableException e = assertThrows(VcekUnavailableException.class, () -> files.fetch(
                new VcekRequest(Optional.of(SnpProduct.MILAN), SnpSigningKey.VCEK, "ab".repeat(64), 0x4405000000000002L)));
        assertTrue(e.getMessage().contains("abababab") && e.getMessage().contains("0x4405000000000002"), e.getMessage());
    }
}
