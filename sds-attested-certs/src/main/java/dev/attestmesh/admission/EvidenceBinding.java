package dev.attestmesh.admission;

import dev.attestmesh.quote.VerifiedEvidence;

/**
 * The binding check of an Attest (DESIGN.md section 3): whether locally verified evidence carries, in its
 * report data, {@code SHA-512("attestmesh-v1" || nonce || SHA-256(CSR SPKI))} for this Attest's nonce
 * and CSR key, so that the certificate goes to the key born in the TEE that produced the evidence.
 *
 * <p>Production has exactly one implementation, {@link #reportData()}: the {@link AttestationAdmission}
 * constructors without a binding argument and every public way of starting a control plane use it, and no
 * configuration key, system property or development flag selects another. The interface exists so that tests can carry recorded hardware
 * evidence, which cannot carry a fresh nonce, past this one check and through the rest of the real path
 * (docs/evidence.md, "Real evidence through the whole plane").
 */
public interface EvidenceBinding {

    /**
     * @param evidence evidence a verifier has verified (signatures, chains, collateral)
     * @param expectedReportData the 64 bytes this Attest's nonce and CSR key require
     * @return whether the evidence binds them
     */
    boolean binds(VerifiedEvidence evidence, byte[] expectedReportData);

    /** The production check: the evidence's report data equals the expected bytes (compared in constant time). */
    static EvidenceBinding reportData() {
        return ReportDataEvidenceBinding.INSTANCE;
    }
}
