package dev.attestmesh.quote;

/**
 * Every distinct check a verifier performs. A failure names exactly one of these, so operators and
 * tests can tell which step rejected the evidence.
 */
public enum VerificationCheck {
    /** The evidence bytes could not be parsed. */
    PARSE,
    /** The evidence is of a type this verifier does not handle, or is not enabled. */
    UNSUPPORTED,
    /** Quote body signature with the attestation key (Intel) or report signature with VCEK/VLEK (AMD). */
    QUOTE_SIGNATURE,
    /** QE report signature with the PCK key. */
    QE_REPORT_SIGNATURE,
    /** QE report data = SHA-256(attestation key || QE auth data) || zeros. */
    QE_REPORT_DATA_BINDING,
    /** PCK leaf, intermediate and root chain. */
    PCK_CHAIN,
    /** Trust anchor fingerprint pinning. */
    TRUST_ANCHOR,
    /** PCK certificate revoked or PCK CRL invalid. */
    PCK_CRL,
    /** Root CA CRL invalid, or an intermediate revoked by it. */
    ROOT_CRL,
    /** TCB Info signature or issuer chain. */
    TCB_INFO_SIGNATURE,
    /** QE Identity signature or issuer chain. */
    QE_IDENTITY_SIGNATURE,
    /** Collateral does not belong to this evidence (FMSPC, TEE type, version mismatch). */
    COLLATERAL_MISMATCH,
    /** Collateral or certificate outside its validity window at the verification time. */
    COLLATERAL_EXPIRED,
    /**
     * Collateral older than allowed: a TCB Info or QE Identity below the configured minimum TCB
     * evaluation data number, or collateral supplied with the request older than the provider's.
     */
    COLLATERAL_OUTDATED,
    /** Collateral missing and not obtainable. */
    COLLATERAL_UNAVAILABLE,
    /** No TCB level of the TCB Info matches the platform's components. */
    TCB_LEVEL,
    /** QE report does not match the QE Identity (MRSIGNER, ISVPRODID, attributes, miscselect). */
    QE_IDENTITY,
    /** TDX module identity mismatch. */
    TDX_MODULE,
    /** VCEK/VLEK to ASK to ARK chain. */
    VCEK_CHAIN,
    /** Reported TCB or chip ID does not match the VCEK extensions; product mismatch. */
    VCEK_TCB,
    /** Azure HCL report: REPORT_DATA of its SNP report is not the hash of its runtime claims. */
    HCL_REPORT_DATA_BINDING,
    /** Azure HCL runtime claims: not JSON, no usable vTPM attestation key, or the SNP report's VMPL is not 0. */
    HCL_RUNTIME_CLAIMS,
    /** TPM2 quote (TPMS_ATTEST) signature with the vTPM attestation key. */
    TPM_QUOTE_SIGNATURE,
    /** The PCR values supplied with a TPM2 quote do not hash to the quote's PCR digest or selection. */
    TPM_PCR_DIGEST,
    /** SEV-SNP certificate revocation: the ASK/ASVK or VCEK/VLEK is on AMD's CRL, or the CRL is invalid. */
    AMD_CRL,
    /** TDX CCEL event log: malformed, or it does not replay to the quote's RTMRs. */
    EVENT_LOG,
    /** Simulator evidence signature. */
    SIM_SIGNATURE
}
