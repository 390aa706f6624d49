package dev.attestmesh.quote.sgx;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.attestmesh.quote.EvidenceParseException;

/**
 * Jazzer fuzz target: the SGX quote parser may only ever fail with {@link EvidenceParseException}.
 * {@code ./mvnw verify} runs it in regression mode over the inputs in {@code
 * src/test/resources/dev/attestmesh/quote/sgx/SgxQuoteParserFuzzTestInputs}; set {@code JAZZER_FUZZ=1}
 * to fuzz for {@code maxDuration}.
 */
class SgxQuoteParserFuzzTest {

    @FuzzTest(maxDuration = "20s")
    void parserThrowsOnlyEvidenceParseException(byte[] input) {
        try {
            SgxQuote q = SgxQuoteParser.parse(input);
            // a parse result must be internally consistent with the input it came from
            if (q.signedBytes().length > input.length) {
                throw new AssertionError("signed bytes extend beyond the input");
            }
        } catch (EvidenceParseException expected) {
            // the only permitted failure
        }
    }
}
