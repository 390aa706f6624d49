package dev.attestmesh.quote.collateral;

/** Collateral could not be obtained (missing file, PCS error, or only expired collateral available). */
public final class CollateralUnavailableException extends Exception {
    public CollateralUnavailableException(String message) {
        super(message);
    }

    public CollateralUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
