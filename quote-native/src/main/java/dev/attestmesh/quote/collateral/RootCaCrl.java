package dev.attestmesh.quote.collateral;

/**
 * The Intel SGX Root CA CRL as delivered.
 *
 * @param der the CRL in DER
 */
public record RootCaCrl(byte[] der) {
    public RootCaCrl {
        der = der.clone();
    }

    @Override
    public byte[] der() {
        return der.clone();
    }
}
