package dev.attestmesh.trustee;

/**
 * Every check on the way from an attestation service's answer to AttestMesh claims. A refusal names
 * exactly one, so an operator can tell a network problem from a forged or unacceptable token.
 */
public enum EarCheck {
    /** The policy names an attestation service this control plane is not configured to trust. */
    NOT_CONFIGURED,
    /** The AS could not be reached, or the connection failed. */
    TRANSPORT,
    /** The AS did not answer within the configured timeout. */
    TIMEOUT,
    /** The AS answered with a non-200 status (its own refusal of the evidence, or an error). */
    AS_ERROR,
    /** The AS's answer is larger than the configured bound. */
    TOO_LARGE,
    /** The answer is not a compact JWS, or its payload is not a JSON object. */
    PARSE,
    /** The JWS algorithm is not one the configured AS key can verify (e.g. {@code none}, HMAC). */
    ALGORITHM,
    /** The signature does not verify with the configured AS key. */
    SIGNATURE,
    /** {@code exp}, {@code iat} or {@code nbf} is missing, malformed, or outside the allowed clock skew. */
    TIME,
    /** {@code eat_profile} is not an EAR profile this control plane accepts. */
    PROFILE,
    /** A claim the EAR profile does not define, or one with the wrong structure or type. */
    CLAIMS,
    /** The token does not echo the report data this attestation must carry (nonce and CSR key binding). */
    BINDING,
    /** The appraisal status is contraindicated (always refused). */
    CONTRAINDICATED
}
