package dev.attestmesh.quote.snp;

import java.util.Optional;

/**
 * Where the SEV-SNP verifier gets AMD's CRL for a product and key kind (VCEK chain or VLEK chain). The
 * bytes are untrusted: {@link AmdCrl#check} verifies them against the pinned ARK.
 */
public interface AmdCrlProvider {

    /**
     * The CRL's bytes, or empty when this provider does not check revocation at all.
     *
     * @throws VcekUnavailableException when revocation is checked but the CRL cannot be obtained (the
     *     evidence is then refused: fail closed)
     */
    Optional<byte[]> crl(SnpProduct product, SnpSigningKey keyType) throws VcekUnavailableException;

    /** No revocation checking (the default when none is configured; documented in docs/evidence.md). */
    static AmdCrlProvider none() {
        return (product, keyType) -> Optional.empty();
    }
}
