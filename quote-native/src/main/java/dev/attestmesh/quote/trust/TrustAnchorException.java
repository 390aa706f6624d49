package dev.attestmesh.quote.trust;

/** A trust anchor could not be loaded, or what was loaded is not the pinned vendor root. */
public final class TrustAnchorException extends Exception {
    public TrustAnchorException(String message) {
        super(message);
    }

    public TrustAnchorException(String message, Throwable cause) {
        super(message, cause);
    }
}
