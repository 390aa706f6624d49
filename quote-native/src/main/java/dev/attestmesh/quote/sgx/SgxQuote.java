package dev.attestmesh.quote.sgx;

import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.intel.DcapQuote;
import dev.attestmesh.quote.intel.EnclaveReport;
import dev.attestmesh.quote.intel.QuoteHeader;
import dev.attestmesh.quote.intel.QuoteSignatureData;

/**
 * A parsed SGX ECDSA quote (v3, or a v4/v5 envelope carrying an SGX enclave body). Untrusted: its
 * fields mean nothing until {@code DcapQuoteVerifier} has checked the signatures and collateral.
 *
 * @param header the 48-byte header
 * @param body the ISV enclave report
 * @param signedBytes header and body as covered by the quote signature
 * @param signatureData signature, attestation key, QE report and PCK chain
 */
public record SgxQuote(QuoteHeader header, EnclaveReport body, byte[] signedBytes, QuoteSignatureData signatureData)
        implements DcapQuote {

    @Override
    public TeeType tee() {
        return TeeType.SGX;
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
