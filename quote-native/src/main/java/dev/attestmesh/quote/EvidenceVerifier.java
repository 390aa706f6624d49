package dev.attestmesh.quote;

/**
 * Verifies one type of evidence completely: signatures, certificate chains, collateral and TCB
 * status at {@link VerificationRequest#at()}. Implementations are thread-safe.
 */
public interface EvidenceVerifier {

    /** The evidence type this verifier handles. */
    TeeType tee();

    /**
     * @throws EvidenceVerificationException naming the failed check; never any other exception for
     *     bad input
     */
    VerifiedEvidence verify(VerificationRequest request) throws EvidenceVerificationException;

    /**
     * Judges the TCB of evidence this verifier verified before against the collateral current at {@code
     * at} (after a collateral change): the same signature, validity, revocation and TCB level checks as
     * {@link #verify}, run on the {@link VerifiedEvidence#reappraisalInputs() stored inputs} instead of
     * the evidence bytes. The default, for evidence whose TCB does not depend on fetched collateral,
     * returns {@code stored} unchanged.
     *
     * @return {@code stored} with the TCB status and advisories the current collateral gives
     * @throws EvidenceVerificationException naming the check the stored evidence no longer passes (a
     *     revoked PCK certificate, collateral that no longer matches or is unavailable)
     */
    default VerifiedEvidence reappraise(VerifiedEvidence stored, java.time.Instant at) throws EvidenceVerificationException {
        return stored;
    }
}
