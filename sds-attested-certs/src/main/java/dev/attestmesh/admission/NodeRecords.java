package dev.attestmesh.admission;

import dev.attestmesh.registry.NodeState;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;

/**
 * The node registry as admission sees it: the standing of a node id, live instances of an identity,
 * and where an admitted node is recorded. Implemented by the control plane's persistent registry.
 */
public interface NodeRecords {

    /**
     * What the registry holds for a node id.
     *
     * @param keySha256Hex SHA-256 (hex) of the SubjectPublicKeyInfo of the key that last attested
     *     (empty for records from before key pinning)
     * @param acceptedCertificateSha256Hex the node's certificates still accepted (current, previous)
     */
    record Standing(String nodeId, NodeState state, String stateReason, String spiffeId, String keySha256Hex,
            Set<String> acceptedCertificateSha256Hex, Instant certificateNotAfter) {
        public Standing {
            acceptedCertificateSha256Hex = Set.copyOf(acceptedCertificateSha256Hex);
        }
    }

    Optional<Standing> standing(String nodeId);

    /** Nodes other than {@code excludingNodeId} that are ATTESTED under {@code spiffeId} with an unexpired certificate. */
    int liveInstances(String spiffeId, String excludingNodeId, Instant now);

    /** Persists a fresh admission (replacing the node's previous record). */
    void record(AdmittedNode node);

    /**
     * Withdraws a node's identity at once (its authenticated renewal failed appraisal or identity):
     * ext_authz denies it and its SDS snapshot is withdrawn.
     */
    void withdraw(String nodeId, String reason);
}
