package dev.attestmesh.server.revocation;

import dev.attestmesh.policy.PolicyRef;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.server.registry.NodeEntry;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What revocation rules are matched against: a registered node, or a node that is attesting right now.
 *
 * @param nodeId the node id
 * @param measurement primary measurement, lower-case hex
 * @param tcbStatus TCB status by its Intel name (e.g. {@code UpToDate})
 * @param advisoryIds advisory IDs listed by the evidence's TCB level
 * @param policyIds policies the node satisfies (or would satisfy)
 * @param registration the registration that granted (or would grant) the node's identity
 * @param platformId the platform identity of the verified evidence, when it has one
 */
public record RevocationSubject(String nodeId, String measurement, String tcbStatus, List<String> advisoryIds,
        Set<String> policyIds, String registration, Optional<String> platformId) {

    public RevocationSubject {
        measurement = measurement.toLowerCase(Locale.ROOT);
        advisoryIds = List.copyOf(advisoryIds);
        policyIds = Set.copyOf(policyIds);
    }

    /** The subject of a registered node, from its latest attestation. */
    public static RevocationSubject of(NodeEntry e) {
        return new RevocationSubject(e.nodeId(), e.measurement(), e.claims().tcbStatus(), e.claims().advisoryIds(),
                e.satisfiedPolicies().keySet(), e.registration(), e.evidence().platformId());
    }

    /** The subject of an attestation in progress: verified evidence and the policies it satisfies. */
    public static RevocationSubject of(String nodeId, String registration, VerifiedEvidence evidence,
            List<PolicyRef> satisfied) {
        return new RevocationSubject(nodeId, evidence.primaryMeasurement(), evidence.tcbStatus().intelName(),
                evidence.advisoryIds(), satisfied.stream().map(PolicyRef::id).collect(Collectors.toSet()), registration,
                evidence.platformId());
    }
}
