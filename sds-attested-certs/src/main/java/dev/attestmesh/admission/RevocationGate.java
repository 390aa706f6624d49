package dev.attestmesh.admission;

import dev.attestmesh.policy.PolicyRef;
import dev.attestmesh.quote.VerifiedEvidence;
import java.util.List;
import java.util.Optional;

/** Revocation rules consulted before a certificate is issued. */
@FunctionalInterface
public interface RevocationGate {
    /** No rules. */
    RevocationGate NONE = (nodeId, registration, evidence, satisfied) -> Optional.empty();

    /** Why an attestation with these facts is refused, empty when no rule matches. */
    Optional<String> refusal(String nodeId, String registration, VerifiedEvidence evidence, List<PolicyRef> satisfied);
}
