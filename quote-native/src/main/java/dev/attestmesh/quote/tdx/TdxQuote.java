package dev.attestmesh.quote.tdx;

import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.intel.DcapQuote;
import dev.attestmesh.quote.intel.QuoteHeader;
import dev.attestmesh.quote.intel.QuoteSignatureData;

/**
 * A parsed TDX quote (v4, or v5 with body type 2 or 3). Untrusted until verified.
 *
 * @param header the 48-byte header
 * @param bodyType 2 = TDX 1.0 body, 3 = TDX 1.5 body (v4 quotes always report 2)
 * @param body the TD report body
 * @param signedBytes bytes covered by the quote signature
 * @param signatureData signature, attestation key, QE report and PCK chain
 */
public record TdxQuote(QuoteHeader header, int bodyType, TdReport body, byte[] signedBytes,
        QuoteSignatureData signatureData) implements DcapQuote {

    @Override
    public TeeType tee() {
        return TeeType.TDX;
    }

    @Override
    public byte[] signedBytes() {
        return signedBytes.clone();
    }

    @Override
    public byte[] reportData() {
        return body.reportData().clone();
    }
}
