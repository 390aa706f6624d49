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
}
