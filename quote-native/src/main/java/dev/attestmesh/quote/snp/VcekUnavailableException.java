package dev.attestmesh.quote.snp;

/** A {@link VcekProvider} could not supply the certificate; the message says which and why. */
public final class VcekUnavailableException extends Exception {
    public VcekUnavailableException(String message) {
        super(message);
    }

    public VcekUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
