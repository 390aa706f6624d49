package dev.attestmesh.quote;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Jazzer fuzz target: format detection never throws, and whatever it names must at least carry that
 * format's framing (a detected SNP report is exactly 1184 bytes, a DCAP quote has a full header).
 * {@code ./mvnw verify} runs it in regression mode; {@code .ci/fuzz} fuzzes it for {@code maxDuration}.
 */
class EvidenceFormatFuzzTest {

    @FuzzTest(maxDuration = "20s")
    void detectionNeverThrowsAndNamesOnlyWhatIsFramed(byte[] input) {
        EvidenceFormat f = EvidenceFormat.detect(input);
        switch (f) {
            case SNP_REPORT -> {
                if (input.length != 1184) {
                    throw new AssertionError("an SNP report of " + input.length + " bytes");
                }
            }
            case SGX_QUOTE_V3, SGX_QUOTE_V4, SGX_QUOTE_V5, TDX_QUOTE_V4, TDX_QUOTE_V5 -> {
                if (input.length < 48) {
                    throw new AssertionError("a DCAP quote shorter than its header");
                }
            }
            case UNKNOWN -> {
                if (f.tee().isPresent()) {
                    throw new AssertionError("UNKNOWN names a TEE type");
                }
            }
            default -> {
                if (f.tee().isEmpty()) {
                    throw new AssertionError(f + " names no TEE type");
                }
            }
        }
        try {
            EvidenceFormat.checkDeclared(TeeType.SGX, input);
        } catch (EvidenceVerificationException expected) {
            if (f.tee().orElse(TeeType.SGX) == TeeType.SGX) {
                throw new AssertionError("refused evidence framed as SGX or unknown");
            }
        }
    }
}
