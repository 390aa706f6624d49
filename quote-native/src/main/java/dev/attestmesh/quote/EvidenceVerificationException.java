package dev.attestmesh.quote;

import java.util.Objects;

/** Evidence was rejected by a named verification check. The message never contains key material. */
public final class EvidenceVerificationException extends Exception {
    private final VerificationCheck check;

    public EvidenceVerificationException(VerificationCheck check, String message) {
        super(message);
        this.check = Objects.requireNonNull(check);
    }

    public EvidenceVerificationException(VerificationCheck check, String message, Throwable cause) {
        super(message, cause);
        this.check = Objects.requireNonNull(check);
    }

    /** Wraps a parse failure as a {@link VerificationCheck#PARSE} rejection. */
    public static EvidenceVerificationException parse(EvidenceParseException e) {
        return new EvidenceVerificationException(VerificationCheck.PARSE, e.getMessage(), e);
    }

    public VerificationCheck check() {
        return check;
    }
}
