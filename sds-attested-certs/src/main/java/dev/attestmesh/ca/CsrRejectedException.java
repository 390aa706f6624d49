package dev.attestmesh.ca;

import java.util.Objects;

/** A certificate signing request was refused; {@link #reason()} says which check failed. */
public final class CsrRejectedException extends Exception {
    /** Why a CSR was refused. */
    public enum Reason {
        /** Larger than {@link CsrValidator#MAX_CSR_BYTES}. */
        OVERSIZED,
        /** Not a DER PKCS#10 request. */
        MALFORMED,
        /** Key is not an ECDSA P-256 key (or its point is not on the curve). */
        UNSUPPORTED_KEY,
        /** Signature algorithm is not ECDSA with SHA-256/384. */
        UNSUPPORTED_SIGNATURE_ALGORITHM,
        /** The request's self-signature does not verify with its own key. */
        BAD_SIGNATURE
    }

    private final Reason reason;

    public CsrRejectedException(Reason reason, String message) {
        super(message);
        this.reason = Objects.requireNonNull(reason);
    }

    public Reason reason() {
        return reason;
    }
}
