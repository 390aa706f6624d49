package dev.attestmesh.server.registry;

import dev.attestmesh.authz.NodeAuthzRecord;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.ca.AttestationClaims;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerifiedEvidence;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Everything the control plane knows about one node: its latest attestation, the certificate issued
 * for it, and whether it is still admitted.
 *
 * @param satisfiedPolicies policy id to the policy version under which it was satisfied
 * @param previousCertSha256 the certificate replaced by the latest renewal (still accepted until it
 *     expires, so connections opened before a rotation keep working); empty when none
 * @param evidence the verified claims of the latest attestation, kept to re-appraise on policy change
 */
public record NodeEntry(String nodeId, String spiffeId, TeeType tee, String measurement, NodeState state,
        String stateReason, AttestationClaims claims, Map<String, Long> satisfiedPolicies, String certChainPem,
        String certSerialHex, String certSha256, String previousCertSha256, Instant certNotAfter,
        Instant evidenceExpiresAt, Instant attestedAt, VerifiedEvidence evidence) {

    public NodeEntry {
        satisfiedPolicies = Map.copyOf(satisfiedPolicies);
    }

    public NodeEntry withState(NodeState newState, String reason) {
        return new NodeEntry(nodeId, spiffeId, tee, measurement, newState, reason, claims, satisfiedPolicies,
                certChainPem, certSerialHex, certSha256, previousCertSha256, certNotAfter, evidenceExpiresAt,
                attestedAt, evidence);
    }

    /** The result of re-appraising the stored evidence under changed policies. */
    public NodeEntry withReappraisal(Map<String, Long> policies, Instant newEvidenceExpiresAt, NodeState newState,
            String reason) {
        return new NodeEntry(nodeId, spiffeId, tee, measurement, newState, reason, claims, policies,
                certChainPem, certSerialHex, certSha256, previousCertSha256, certNotAfter, newEvidenceExpiresAt,
                attestedAt, evidence);
    }

    /** The view ext_authz decides on. */
    public NodeAuthzRecord toAuthzRecord() {
        Set<String> certs = new LinkedHashSet<>();
        certs.add(certSha256);
        if (!previousCertSha256.isEmpty()) {
            certs.add(previousCertSha256);
        }
        return new NodeAuthzRecord(nodeId, spiffeId, state, stateReason, tee, measurement, satisfiedPolicies,
                certs, evidenceExpiresAt, "", certNotAfter);
    }
}
