package dev.attestmesh.identity;

/** A service-account token was refused; the message names the failed check and never contains the token. */
public final class TokenRejectedException extends Exception {
    public TokenRejectedException(String message) {
        super(message);
    }

    public TokenRejectedException(String message, Throwable cause) {
        super(message, cause);
    }
}
