package dev.attestmesh.ca;

/** A sealed CA file could not be opened: wrong secret, corruption, or an unknown format version. */
public final class CaVaultException extends Exception {
    public CaVaultException(String message) {
        super(message);
    }

    public CaVaultException(String message, Throwable cause) {
        super(message, cause);
    }
}
