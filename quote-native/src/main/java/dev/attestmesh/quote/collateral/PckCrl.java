package dev.attestmesh.quote.collateral;

import java.security.cert.X509Certificate;
import java.util.List;

/**
 * A PCK CRL as delivered.
 *
 * @param der the CRL in DER
 * @param issuerChain the delivered issuer chain (PCK CA, root), possibly empty: verification always
 *     checks the CRL against the intermediate of the quote's own PCK chain
 */
public record PckCrl(byte[] der, List<X509Certificate> issuerChain) {
    public PckCrl {
        der = der.clone();
        issuerChain = List.copyOf(issuerChain);
    }

    @Override
    public byte[] der() {
        return der.clone();
    }
}
