package dev.attestmesh.quote.collateral;

import java.util.Objects;

/**
 * Everything besides the quote that DCAP verification needs: TCB Info, QE Identity, the PCK CRL
 * and the Intel SGX Root CA CRL. Untrusted until verified against the pinned root.
 *
 * @param tcbInfo TCB Info for the platform's FMSPC and TEE type
 * @param qeIdentity QE Identity ({@code QE} for SGX, {@code TD_QE} for TDX)
 * @param pckCrl CRL of the PCK CA that issued the quote's PCK certificate
 * @param rootCaCrl Intel SGX Root CA CRL
 */
public record QuoteCollateral(SignedCollateral tcbInfo, SignedCollateral qeIdentity, PckCrl pckCrl, RootCaCrl rootCaCrl) {
    public QuoteCollateral {
        Objects.requireNonNull(tcbInfo, "tcbInfo");
        Objects.requireNonNull(qeIdentity, "qeIdentity");
        Objects.requireNonNull(pckCrl, "pckCrl");
        Objects.requireNonNull(rootCaCrl, "rootCaCrl");
    }
}
