package dev.attestmesh.quote.intel;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.EvidenceParseException;
import dev.attestmesh.quote.sgx.SgxQuoteParser;
import dev.attestmesh.quote.tdx.TdxQuoteParser;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Seeded structural mutations of real quotes (length fields, truncation, extension, byte runs): the
 * parsers either parse or throw {@link EvidenceParseException}, never anything else. Complements
 * the Jazzer targets, which start from synthetic seeds.
 */
class QuoteParserRobustnessTest {
    private static final int ROUNDS = 600;

    @Test
    void mutatedRealQuotesOnlyEverFailWithEvidenceParseException() {
        List<byte[]> quotes = List.of(IntelVectors.bytes("sgx/dcap-qvl-sgx/sgx_quote"),
                IntelVectors.bytes("sgx/automata-sgx-v3/sampleQuote_v3.bin"),
                IntelVectors.bytes("tdx/dcap-qvl-tdx/tdx_quote"),
                IntelVectors.bytes("tdx/go-tdx-guest/quote_v5_sample.dat"),
                IntelVectors.bytes("tdx/automata-tdx-v5/alibaba_quote_5.dat"));
        // offsets of length and type fields, where corruption is most likely to reach an allocation
        int[] hotSpots = {0, 2, 4, 48, 50, 432, 436 + 576, 632, 702, 764, 766, 1218, 1220 + 32};
        Random r = new Random(42);
        int parsed = 0;
        for (byte[] original : quotes) {
            for (int i = 0; i < ROUNDS; i++) {
                byte[] q = mutate(original, r, hotSpots);
                parsed += parseBoth(q);
            }
        }
        assertTrue(parsed > 0, "some mutations (e.g. in padding or body bytes) still parse");
    }

    private static byte[] mutate(byte[] original, Random r, int[] hotSpots) {
        byte[] q = original.clone();
        switch (r.nextInt(4)) {
            case 0 -> {
                int at = Math.min(q.length - 4, hotSpots[r.nextInt(hotSpots.length)]);
                q[at + r.nextInt(4)] = (byte) r.nextInt(256);
            }
            case 1 -> q = Arrays.copyOf(q, r.nextInt(q.length));
            case 2 -> q = Arrays.copyOf(q, q.length + r.nextInt(64));
            default -> {
                int at = r.nextInt(q.length);
                for (int k = at; k < Math.min(q.length, at + 1 + r.nextInt(8)); k++) {
                    q[k] = (byte) 0xff;
                }
            }
        }
        return q;
    }

    private static int parseBoth(byte[] q) {
        int ok = 0;
        try {
            SgxQuoteParser.parse(q);
            ok++;
        } catch (EvidenceParseException expected) {
            // permitted
        }
        try {
            TdxQuoteParser.parse(q);
            ok++;
        } catch (EvidenceParseException expected) {
            // permitted
        }
        return ok;
    }
}
