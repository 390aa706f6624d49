package dev.attestmesh.server.attest;

import dev.attestmesh.admission.AdmissionRefusedException;
import java.util.Locale;

/**
 * Why an {@code Attest} call failed, from a closed set: every failure maps onto exactly one of these, so the
 * metric label {@code reason} can never take a value a caller chose (a caller controls its node id, TEE name,
 * evidence bytes and the text of parse errors, none of which may become a label).
 */
public enum AttestationFailureReason {
    /** The request itself: missing or oversized fields, an unknown TEE, a malformed node id or SPIFFE ID. */
    REQUEST,
    /** The nonce was unknown, used or expired. */
    NONCE,
    /** The CSR did not parse, was not self-signed, or used a key type the profile refuses. */
    CSR,
    /** The node id is revoked or held by another key. */
    NODE_ID,
    /** The evidence failed a verification check (the check is its own bounded label). */
    EVIDENCE,
    /** The evidence's report data does not bind the nonce and the CSR key. */
    BINDING,
    /** No policy is configured. */
    POLICY,
    /** No registration grants an identity to these claims (or more than one does). */
    IDENTITY,
    /** A revocation rule refuses the node, registration, measurement or evidence. */
    REVOCATION,
    /** The state store was unavailable; nothing was issued. */
    STORE_UNAVAILABLE,
    /** A bug or an unexpected failure inside the control plane. */
    INTERNAL;

    /** The label value: the name in lower case. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The reason for a refusal by the admission stage {@code stage}. */
    public static AttestationFailureReason of(AdmissionRefusedException.Stage stage) {
        return switch (stage) {
            case REQUEST -> REQUEST;
            case NONCE -> NONCE;
            case CSR -> CSR;
            case NODE_ID -> NODE_ID;
            case EVIDENCE -> EVIDENCE;
            case BINDING -> BINDING;
            case POLICY -> POLICY;
            case IDENTITY -> IDENTITY;
            case REVOCATION -> REVOCATION;
        };
    }
}
