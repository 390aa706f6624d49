package dev.attestmesh.agent;

/**
 * The control plane refused this node's attestation, or could not be reached. {@link #retryable()}
 * tells whether trying again later may help (unreachable, overloaded) or not (policy refused).
 */
public final class AttestationRefusedException extends Exception {
    private final String code;
    private final boolean retryable;

    public AttestationRefusedException(String code, String message, boolean retryable, Throwable cause) {
        super(message, cause);
        this.code = code;
        this.retryable = retryable;
    }

    /** The gRPC status code name, or a local reason such as {@code EVIDENCE}. */
    public String code() {
        return code;
    }

    public boolean retryable() {
        return retryable;
    }
}
