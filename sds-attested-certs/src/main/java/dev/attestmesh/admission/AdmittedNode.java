package dev.attestmesh.admission;

import dev.attestmesh.ca.AttestationClaims;
import dev.attestmesh.ca.IssuedCertificate;
import dev.attestmesh.identity.KubernetesIdentity;
import dev.attestmesh.quote.VerifiedEvidence;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A node that passed every stage of admission and was issued a certificate: what the registry records.
 *
 * @param registration ID of the registration that granted {@code spiffeId}
 * @param satisfiedPolicies policy ID to the version the evidence satisfied
 * @param keySha256Hex SHA-256 (hex) of the node key's SubjectPublicKeyInfo: the key lineage the node id is pinned to
 * @param kubernetes the workload identity proven with the Challenge, kept so re-appraisal can re-check selectors
 * @param evidenceExpiresAt when the evidence becomes too old for the strictest satisfied policy
 */
public record AdmittedNode(String nodeId, String spiffeId, String registration, VerifiedEvidence evidence,
        AttestationClaims claims, Map<String, Long> satisfiedPolicies, IssuedCertificate certificate,
        String keySha256Hex, Optional<KubernetesIdentity> kubernetes, Instant evidenceExpiresAt, Instant attestedAt) {
    public AdmittedNode {
        Objects.requireNonNull(nodeId, "nodeId");
        Objects.requireNonNull(spiffeId, "spiffeId");
        Objects.requireNonNull(registration, "registration");
        Objects.requireNonNull(evidence, "evidence");
        Objects.requireNonNull(claims, "claims");
        satisfiedPolicies = Map.copyOf(satisfiedPolicies);
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(keySha256Hex, "keySha256Hex");
        Objects.requireNonNull(kubernetes, "kubernetes");
        Objects.requireNonNull(evidenceExpiresAt, "evidenceExpiresAt");
        Objects.requireNonNull(attestedAt, "attestedAt");
    }
}
