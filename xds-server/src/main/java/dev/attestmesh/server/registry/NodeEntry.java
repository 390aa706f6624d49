package dev.attestmesh.server.registry;

import dev.attestmesh.authz.NodeAuthzRecord;
import dev.attestmesh.input.UntrustedText;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.ca.AttestationClaims;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerifiedEvidence;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import dev.attestmesh.identity.KubernetesIdentity;

/**
 * Everything the control plane knows about one node: its latest attestation, the certificate issued
 * for it, and whether it is still admitted.
 *
 * @param satisfiedPolicies policy id to the policy version under which it was satisfied
 * @param previousCertSha256 the certificate replaced by the latest renewal (still accepted until it
 *     expires, so connections opened before a rotation keep working); empty when none
 * @param evidence the verified claims of the latest attestation, kept to re-appraise on policy change
 * @param registration ID of the registration that granted {@code spiffeId} (empty for records from
 *     before registrations, which hold no identity)
 * @param keySha256 SHA-256 (hex) of the node key's SubjectPublicKeyInfo: the key lineage the node id is
 *     pinned to
 * @param kubernetes the workload identity the node's Challenge proved with a service-account token
 */
public record NodeEntry(String nodeId, String spiffeId, TeeType tee, String measurement, NodeState state,
        String stateReason, AttestationClaims claims, Map<String, Long> satisfiedPolicies, String certChainPem,
        String certSerialHex, String certSha256, String previousCertSha256, Instant certNotAfter,
        Instant evidenceExpiresAt, Instant attestedAt, VerifiedEvidence evidence, String registration,
        String keySha256, Optional<KubernetesIdentity> kubernetes) {

    /** Longest state reason stored (column {@code nodes.state_reason}); longer reasons are cut. */
    public static final int MAX_STATE_REASON_CHARS = 1024;

    /**
     * The state reason is composed from fixed text and operator or caller text (revocation reasons,
     * registration IDs, release reasons): it is made to fit its column here, whatever composed it, so
     * no record can fail to store (or block a restart) because of its reason.
     */
    public NodeEntry {
        stateReason = UntrustedText.fit(Objects.requireNonNull(stateReason, "stateReason"), MAX_STATE_REASON_CHARS);
        satisfiedPolicies = Map.copyOf(satisfiedPolicies);
        Objects.requireNonNull(registration, "registration");
        Objects.requireNonNull(keySha256, "keySha256");
        Objects.requireNonNull(kubernetes, "kubernetes");
    }

    public NodeEntry withState(NodeState newState, String reason) {
        return new NodeEntry(nodeId, spiffeId, tee, measurement, newState, reason, claims, satisfiedPolicies,
                certChainPem, certSerialHex, certSha256, previousCertSha256, certNotAfter, evidenceExpiresAt,
                attestedAt, evidence, registration, keySha256, kubernetes);
    }

    /** The result of re-appraising the stored evidence under changed policies. */
    public NodeEntry withReappraisal(Map<String, Long> policies, Instant newEvidenceExpiresAt, NodeState newState,
            String reason) {
        return new NodeEntry(nodeId, spiffeId, tee, measurement, newState, reason, claims, policies,
                certChainPem, certSerialHex, certSha256, previousCertSha256, certNotAfter, newEvidenceExpiresAt,
                attestedAt, evidence, registration, keySha256, kubernetes);
    }

    /** The result of re-appraising evidence judged anew under changed collateral (its TCB status may differ). */
    public NodeEntry withReappraisal(VerifiedEvidence newEvidence, Map<String, Long> policies,
            Instant newEvidenceExpiresAt, NodeState newState, String reason) {
        return new NodeEntry(nodeId, spiffeId, tee, measurement, newState, reason, claims, policies,
                certChainPem, certSerialHex, certSha256, previousCertSha256, certNotAfter, newEvidenceExpiresAt,
                attestedAt, newEvidence, registration, keySha256, kubernetes);
    }

    /** The view ext_authz decides on. */
    public NodeAuthzRecord toAuthzRecord() {
        Set<String> certs = new LinkedHashSet<>();
        certs.add(certSha256);
        if (!previousCertSha256.isEmpty()) {
            certs.add(previousCertSha256);
        }
        return new NodeAuthzRecord(nodeId, spiffeId, state, stateReason, tee, measurement, satisfiedPolicies,
                certs, evidenceExpiresAt, registration, certNotAfter);
    }
}
