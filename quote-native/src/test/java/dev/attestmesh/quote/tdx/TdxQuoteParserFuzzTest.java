package dev.attestmesh.quote.tdx;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.attestmesh.quote.EvidenceParseException;

/**
 * Jazzer fuzz target: the TDX quote parser (v4, v5 body types 2 and 3) may only ever fail with
 * {@link EvidenceParseException}. Regression inputs live in {@code
 * src/test/resources/dev/attestmesh/quote/tdx/TdxQuoteParserFuzzTestInputs}; {@code JAZZER_FUZZ=1}
 * turns on real fuzzing.
 */
class TdxQuoteParserFuzzTest {

    @FuzzTest(maxDuration = "20s")
    void parserThrowsOnlyEvidenceParseException(byte[] input) {
        try {
            TdxQuote q = TdxQuoteParser.parse(input);
            if (q.signedBytes().length > input.length) {
                throw new AssertionError("signed bytes extend beyond the input");
            }
        } catch (EvidenceParseException expected) {
            // the only permitted failure
        }
    }
}
