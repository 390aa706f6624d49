package dev.attestmesh.admission;

import java.util.Objects;

/**
 * An attestation was refused. {@link #kind()} maps onto a gRPC status; {@link #stage()} is one of a
 * fixed set of names (safe as a metric label); the message is safe to send to the caller.
 */
public final class AdmissionRefusedException extends Exception {
    /** How the refusal is reported to the caller. */
    public enum Kind { INVALID_ARGUMENT, FAILED_PRECONDITION, PERMISSION_DENIED, RESOURCE_EXHAUSTED, UNAVAILABLE }

    /** The stage that refused (a fixed set, used as a metric label). */
    public enum Stage { REQUEST, NONCE, CSR, NODE_ID, EVIDENCE, BINDING, POLICY, IDENTITY, REVOCATION }

    private final Kind kind;
    private final Stage stage;

    public AdmissionRefusedException(Kind kind, Stage stage, String message) {
        super(Objects.requireNonNull(message, "message"));
        this.kind = Objects.requireNonNull(kind, "kind");
        this.stage = Objects.requireNonNull(stage, "stage");
    }

    public Kind kind() {
        return kind;
    }

    public Stage stage() {
        return stage;
    }
}
