package dev.attestmesh.quote.snp;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.attestmesh.quote.EvidenceParseException;
import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.trust.AmdTrustAnchors;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Fuzzes the SEV-SNP parsers and the verifier's input handling: only {@link EvidenceParseException}
 * (parsers) or {@link EvidenceVerificationException} (verifier) may escape. Plain {@code ./mvnw verify}
 * replays the seed inputs only; set {@code JAZZER_FUZZ=1} to fuzz for {@code maxDuration}.
 */
class SnpReportFuzzTest {
    private static final SnpReportVerifier VERIFIER =
            SnpReportVerifier.create(AmdTrustAnchors.fromCertificates(List.of()), VcekProvider.none());

    @FuzzTest(maxDuration = "20s")
    void parsersThrowOnlyParseExceptions(byte[] input) {
        try {
            SnpReport.parse(input);
        } catch (EvidenceParseException expected) {
            // Bad input is reported, nothing else.
        }
        try {
            AzureHclReport.parse(input);
        } catch (EvidenceParseException expected) {
            // Bad input is reported, nothing else.
        }
    }

    @FuzzTest(maxDuration = "20s")
    void fullLengthReportsAndCollateralThrowOnlyDocumentedExceptions(FuzzedDataProvider data) {
        // Fixed-length reports reach the field decoding rather than stopping at the length check.
        byte[] report = new byte[SnpReport.LENGTH];
        byte[] head = data.consumeBytes(SnpReport.LENGTH);
        System.arraycopy(head, 0, report, 0, head.length);
        try {
            SnpReport r = SnpReport.parse(report);
            r.reportedTcb(SnpProduct.TURIN);
            r.reportedTcb(SnpProduct.MILAN);
            r.product();
        } catch (EvidenceParseException expected) {
            // Bad input is reported, nothing else.
        }
        byte[] collateral = data.consumeRemainingAsBytes();
        try {
            VERIFIER.verify(new VerificationRequest(TeeType.SNP, report, Optional.of(collateral), Instant.EPOCH));
        } catch (EvidenceVerificationException expected) {
            // Every rejection names a check.
        }
    }
}
