package dev.attestmesh.quote.intel;

import dev.attestmesh.quote.TeeType;

/**
 * A parsed, untrusted DCAP quote (SGX or TDX): what verification needs regardless of the body.
 * Implemented by {@code dev.attestmesh.quote.sgx.SgxQuote} and {@code dev.attestmesh.quote.tdx.TdxQuote}.
 */
public interface DcapQuote {

    TeeType tee();

    QuoteHeader header();

    /** Bytes covered by the quote signature: header and body (for v5 including body type and size). */
    byte[] signedBytes();

    QuoteSignatureData signatureData();

    /** The 64-byte report data of the attested enclave or TD. */
    byte[] reportData();
}
