package dev.attestmesh.quote.sgx;

import dev.attestmesh.quote.EvidenceParseException;
import dev.attestmesh.quote.intel.EnclaveReport;
import dev.attestmesh.quote.intel.QuoteByteReader;
import dev.attestmesh.quote.intel.QuoteHeader;
import dev.attestmesh.quote.intel.QuoteSignatureData;
import java.util.Arrays;

/**
 * Parses SGX ECDSA quotes: v3 ({@code sgx_quote_3_t}), v4 with TEE type SGX, and v5 with body type
 * 1. Parsing follows the structure's own length fields; bytes after the declared signature data
 * (real quotes carry zero padding) are ignored. Bad input only ever raises {@link
 * EvidenceParseException}.
 */
public final class SgxQuoteParser {
    private static final int BODY_OFFSET = QuoteHeader.SIZE;
    private static final int V5_SGX_BODY_TYPE = 1;

    private SgxQuoteParser() {}

    public static SgxQuote parse(byte[] quote) throws EvidenceParseException {
        if (quote == null) {
            throw new EvidenceParseException("SGX quote", -1, "no quote bytes were given");
        }
        QuoteByteReader r = new QuoteByteReader(quote, "SGX quote");
        QuoteHeader h = QuoteHeader.read(r);
        return switch (h.version()) {
            case 3 -> parseV3Or4(r, quote, h, false);
            case 4 -> parseV3Or4(r, quote, h, true);
            case 5 -> parseV5(r, quote, h);
            default -> throw new EvidenceParseException("SGX quote header", 0,
                    "version " + h.version() + " is not an SGX ECDSA quote version (3, 4 or 5)");
        };
    }

    private static SgxQuote parseV3Or4(QuoteByteReader r, byte[] q, QuoteHeader h, boolean v4)
            throws EvidenceParseException {
        if (h.teeType() != QuoteHeader.TEE_TYPE_SGX) {
            throw new EvidenceParseException("SGX quote header", 4,
                    "TEE type 0x" + Long.toHexString(h.teeType()) + " is not SGX (0); is this a TDX quote?");
        }
        EnclaveReport body = EnclaveReport.read(r, BODY_OFFSET);
        int sigLenAt = BODY_OFFSET + EnclaveReport.SIZE;
        int sigLen = r.lengthWithin(r.u32(sigLenAt, "signature data length"), sigLenAt + 4, "signature data");
        QuoteSignatureData sd = v4 ? QuoteSignatureData.readV4(r, sigLenAt + 4, sigLen)
                : QuoteSignatureData.readV3(r, sigLenAt + 4, sigLen);
        return new SgxQuote(h, body, Arrays.copyOf(q, sigLenAt), sd);
    }

    private static SgxQuote parseV5(QuoteByteReader r, byte[] q, QuoteHeader h) throws EvidenceParseException {
        int type = r.u16(BODY_OFFSET, "body type");
        long size = r.u32(BODY_OFFSET + 2, "body size");
        if (type != V5_SGX_BODY_TYPE || size != EnclaveReport.SIZE) {
            throw new EvidenceParseException("SGX quote v5", BODY_OFFSET,
                    "body type " + type + " of size " + size + " is not an SGX enclave report (type 1, 384 bytes)");
        }
        int bodyAt = BODY_OFFSET + 6;
        EnclaveReport body = EnclaveReport.read(r, bodyAt);
        int sigLenAt = bodyAt + EnclaveReport.SIZE;
        int sigLen = r.lengthWithin(r.u32(sigLenAt, "signature data length"), sigLenAt + 4, "signature data");
        return new SgxQuote(h, body, Arrays.copyOf(q, sigLenAt), QuoteSignatureData.readV4(r, sigLenAt + 4, sigLen));
    }
}
