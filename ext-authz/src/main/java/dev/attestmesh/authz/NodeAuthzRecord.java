package dev.attestmesh.authz;

import dev.attestmesh.registry.NodeState;
import dev.attestmesh.quote.TeeType;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What the registry knows about a node, reduced to what an authorization decision needs.
 *
 * @param nodeId node ID
 * @param spiffeId the node's SPIFFE ID (URI form)
 * @param state registry state
 * @param stateReason why the node is in that state (e.g. the revocation reason); may be empty
 * @param tee evidence type
 * @param measurement primary measurement, lower-case hex
 * @param satisfiedPolicies policy ID to the policy version the node was appraised against
 * @param certificateSha256Hex SHA-256 (lower-case hex) of every currently valid certificate of the node
 * @param evidenceExpiresAt when the node's evidence becomes too old to count
 * @param registration ID of the registration that granted {@code spiffeId}
 * @param certificateNotAfter expiry of the node's current certificate: an instance whose certificate
 *     expired no longer speaks for its SPIFFE ID in decisions by principal
 */
public record NodeAuthzRecord(String nodeId, String spiffeId, NodeState state, String stateReason, TeeType tee,
        String measurement, Map<String, Long> satisfiedPolicies, Set<String> certificateSha256Hex,
        Instant evidenceExpiresAt, String registration, Instant certificateNotAfter) {
    public NodeAuthzRecord {
        Objects.requireNonNull(nodeId, "nodeId");
        Objects.requireNonNull(spiffeId, "spiffeId");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(stateReason, "stateReason");
        Objects.requireNonNull(tee, "tee");
        Objects.requireNonNull(measurement, "measurement");
        satisfiedPolicies = Map.copyOf(satisfiedPolicies);
        certificateSha256Hex = Set.copyOf(certificateSha256Hex);
        Objects.requireNonNull(evidenceExpiresAt, "evidenceExpiresAt");
        Objects.requireNonNull(registration, "registration");
        Objects.requireNonNull(certificateNotAfter, "certificateNotAfter");
    }
}
