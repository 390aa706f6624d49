package dev.attestmesh.trustee;

import java.util.Objects;

/**
 * An attestation service's answer was refused by a named {@link EarCheck}. The message says what was wrong
 * and never carries the token or key material.
 */
public final class EarRejectedException extends Exception {
    private final EarCheck check;

    public EarRejectedException(EarCheck check, String message) {
        super(message);
        this.check = Objects.requireNonNull(check, "check");
    }

    public EarRejectedException(EarCheck check, String message, Throwable cause) {
        super(message, cause);
        this.check = Objects.requireNonNull(check, "check");
    }

    public EarCheck check() {
        return check;
    }
}
