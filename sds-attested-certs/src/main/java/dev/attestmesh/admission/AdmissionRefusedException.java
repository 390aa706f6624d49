package dev.attestmesh.admission;

import dev.attestmesh.quote.VerificationCheck;
import java.util.Objects;
import java.util.Optional;

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
    private final Optional<VerificationCheck> check;

    public AdmissionRefusedException(Kind kind, Stage stage, String message) {
        this(kind, stage, Optional.empty(), message);
    }

    /** A refusal by the evidence stage, naming the verification check that failed (a fixed set, too). */
    public AdmissionRefusedException(Kind kind, Stage stage, Optional<VerificationCheck> check, String message) {
        super(Objects.requireNonNull(message, "message"));
        this.kind = Objects.requireNonNull(kind, "kind");
        this.stage = Objects.requireNonNull(stage, "stage");
        this.check = Objects.requireNonNull(check, "check");
    }

    /** The verification check that refused the evidence, for {@link Stage#EVIDENCE}; empty otherwise. */
    public Optional<VerificationCheck> check() {
        return check;
    }

    public Kind kind() {
        return kind;
    }

    public Stage stage() {
        return stage;
    }
}
