package dev.attestmesh.ca;

/** The attestation claims extension is not a well-formed claims structure of a supported version. */
public final class ClaimsDecodeException extends Exception {
    public ClaimsDecodeException(String message) {
        super(message);
    }

    public ClaimsDecodeException(String message, Throwable cause) {
        super(message, cause);
    }
}
