package dev.attestmesh.agent.coco;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.attestmesh.quote.EvidenceParseException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Fuzzes what the node agent reads from the attestation-agent: ttrpc frames (header, then the Response message)
 * and the evidence JSON mapping. Only {@link TtrpcException} and {@link EvidenceParseException} may escape.
 * Plain {@code ./mvnw verify} replays the seed inputs only; set {@code JAZZER_FUZZ=1} to fuzz.
 */
class CocoFuzzTest {

    @FuzzTest(maxDuration = "20s")
    void ttrpcFramesThrowOnlyTtrpcExceptions(byte[] input) {
        try {
            TtrpcFrame.Header h = TtrpcFrame.decodeHeader(input);
            TtrpcClient.checkHeader(h, 1);
            byte[] data = Arrays.copyOfRange(input, TtrpcFrame.HEADER_LENGTH, input.length);
            TtrpcClient.responsePayload(data);
        } catch (TtrpcException expected) {
            // Reported with its kind.
        }
    }

    @FuzzTest(maxDuration = "20s")
    void evidenceJsonThrowsOnlyParseExceptions(FuzzedDataProvider data) {
        try {
            CocoEvidence.toNative(data.consumeBytes(data.consumeInt(0, 8192)));
        } catch (EvidenceParseException expected) {
            // Reported.
        }
        // Shapes that reach the SNP re-encoder and the Azure version 2 rewrite.
        String snp = "{\"attestation_report\":{\"version\":" + data.consumeInt(0, 6) + ",\"guest_svn\":"
                + data.consumeLong() + ",\"" + data.consumeAsciiString(12) + "\":" + data.consumeInt() + "}}";
        String az = "{\"version\":2,\"tpm_quote\":{\"signature\":\"" + data.consumeAsciiString(16)
                + "\",\"message\":\"00\",\"pcrs\":[\"" + data.consumeAsciiString(64) + "\"]},\"hcl_report\":\""
                + data.consumeAsciiString(32) + "\",\"vcek\":\"" + data.consumeRemainingAsAsciiString() + "\"}";
        for (String s : new String[] {snp, az}) {
            try {
                CocoEvidence.toNative(s.getBytes(StandardCharsets.UTF_8));
            } catch (EvidenceParseException expected) {
                // Reported.
            }
        }
    }
}
