package dev.attestmesh.quote.collateral;

import java.security.cert.X509Certificate;
import java.util.List;

/**
 * A signed Intel collateral document (TCB Info or QE Identity) exactly as delivered.
 *
 * @param body the exact bytes of the {@code tcbInfo} / {@code enclaveIdentity} JSON value, which
 *     the signature covers; never re-serialised
 * @param signature raw r||s (64 bytes) by the Intel SGX TCB Signing key
 * @param issuerChain the issuer chain delivered with it (signing certificate first), possibly
 *     empty when the verifier's configured TCB Signing certificate is to be used
 */
public record SignedCollateral(byte[] body, byte[] signature, List<X509Certificate> issuerChain) {
    public SignedCollateral {
        body = body.clone();
        signature = signature.clone();
        issuerChain = List.copyOf(issuerChain);
    }

    @Override
    public byte[] body() {
        return body.clone();
    }

    @Override
    public byte[] signature() {
        return signature.clone();
    }
}
