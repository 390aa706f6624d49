package dev.attestmesh.quote.snp;

/**
 * Supplies the VCEK (or VLEK) certificate that signed a report when the caller did not send it as
 * collateral. Implementations are thread-safe. What they return is not trusted: the verifier checks
 * it against the AMD chain and the report.
 *
 * @see FileVcekProvider
 * @see KdsVcekProvider
 * @see RateLimitedVcekProvider
 */
public interface VcekProvider {

    /**
     * @return the certificate as DER, or as PEM (the first block is the VCEK/VLEK)
     * @throws VcekUnavailableException when this source does not have or cannot fetch it
     */
    byte[] fetch(VcekRequest request) throws VcekUnavailableException;

    /** A provider that has nothing: every report must then carry its VCEK as collateral. */
    static VcekProvider none() {
        return request -> {
            throw new VcekUnavailableException("no VCEK source is configured; send the " + request.keyType()
                    + " certificate as collateral or configure a file or KDS provider");
        };
    }
}
