package dev.attestmesh.quote.collateral;

/**
 * A collateral item's signature or issuer chain does not lead to the pinned Intel SGX Root CA. The
 * message names the item and what failed; it never contains key material.
 */
public final class CollateralAuthenticityException extends Exception {
    public CollateralAuthenticityException(String message) {
        super(message);
    }

    public CollateralAuthenticityException(String message, Throwable cause) {
        super(message, cause);
    }
}
