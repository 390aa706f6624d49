package dev.attestmesh.quote.tdx;

import dev.attestmesh.quote.EvidenceParseException;
import dev.attestmesh.quote.intel.QuoteByteReader;
import dev.attestmesh.quote.intel.QuoteHeader;
import dev.attestmesh.quote.intel.QuoteSignatureData;
import java.util.Arrays;

/**
 * Parses TDX quotes v4 and v5 (body type 2, TDX 1.0; body type 3, TDX 1.5). Lengths come from the
 * quote's own fields; trailing bytes after the declared signature data are ignored (real quotes are
 * zero padded). Bad input only ever raises {@link EvidenceParseException}.
 */
public final class TdxQuoteParser {
    private static final int BODY_OFFSET = QuoteHeader.SIZE;

    private TdxQuoteParser() {}

    public static TdxQuote parse(byte[] quote) throws EvidenceParseException {
        if (quote == null) {
            throw new EvidenceParseException("TDX quote", -1, "no quote bytes were given");
        }
        QuoteByteReader r = new QuoteByteReader(quote, "TDX quote");
        QuoteHeader h = QuoteHeader.read(r);
        if (h.teeType() != QuoteHeader.TEE_TYPE_TDX) {
            throw new EvidenceParseException("TDX quote header", 4,
                    "TEE type 0x" + Long.toHexString(h.teeType()) + " is not TDX (0x81); is this an SGX quote?");
        }
        int bodyType;
        int bodyAt;
        int bodySize;
        if (h.version() == 4) {
            bodyType = 2;
            bodyAt = BODY_OFFSET;
            bodySize = TdReport.SIZE_TDX10;
        } else if (h.version() == 5) {
            bodyType = r.u16(BODY_OFFSET, "body type");
            long size = r.u32(BODY_OFFSET + 2, "body size");
            long expected = switch (bodyType) {
                case 2 -> TdReport.SIZE_TDX10;
                case 3 -> TdReport.SIZE_TDX15;
                default -> throw new EvidenceParseException("TDX quote v5", BODY_OFFSET,
                        "body type " + bodyType + " is not a TD report (2 = TDX 1.0, 3 = TDX 1.5)");
            };
            if (size != expected) {
                throw new EvidenceParseException("TDX quote v5", BODY_OFFSET + 2,
                        "body size " + size + " does not match body type " + bodyType + " (" + expected + " bytes)");
            }
            bodyAt = BODY_OFFSET + 6;
            bodySize = (int) expected;
        } else {
            throw new EvidenceParseException("TDX quote header", 0,
                    "version " + h.version() + " is not a TDX quote version (4 or 5)");
        }
        TdReport body = TdReport.read(r, bodyAt, bodySize);
        int sigLenAt = bodyAt + bodySize;
        int sigLen = r.lengthWithin(r.u32(sigLenAt, "signature data length"), sigLenAt + 4, "signature data");
        QuoteSignatureData sd = QuoteSignatureData.readV4(r, sigLenAt + 4, sigLen);
        return new TdxQuote(h, bodyType, body, Arrays.copyOf(quote, sigLenAt), sd);
    }
}
