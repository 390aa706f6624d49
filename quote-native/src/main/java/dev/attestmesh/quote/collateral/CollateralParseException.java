package dev.attestmesh.quote.collateral;

/**
 * Collateral bytes (TCB Info, QE Identity, CRL, issuer chain, collateral bundle JSON) that are not
 * of the expected shape. The only exception collateral parsers throw for bad input.
 */
public final class CollateralParseException extends Exception {
    public CollateralParseException(String message) {
        super(message);
    }

    public CollateralParseException(String message, Throwable cause) {
        super(message, cause);
    }
}
