package dev.attestmesh.server;

import dev.attestmesh.quote.EvidenceVerifiers;
import dev.attestmesh.quote.sim.SimulatedEvidenceVerifier;

/**
 * The evidence verifiers a control plane registers. The simulator's verifier is always present; whether
 * its evidence is accepted is decided by policy (only policies that list {@code sim} accept it).
 */
public final class EvidenceVerifierSet {
    private EvidenceVerifierSet() {}

    public static EvidenceVerifiers defaults() {
        return EvidenceVerifiers.of(SimulatedEvidenceVerifier.withDefaultKey());
    }
}
