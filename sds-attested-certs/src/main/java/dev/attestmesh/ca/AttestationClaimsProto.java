package dev.attestmesh.ca;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import dev.attestmesh.api.v1.Claims;
import dev.attestmesh.api.v1.PolicyRef;
import java.time.Instant;

/** Converts {@link AttestationClaims} to the protocol's {@code attestmesh.v1.Claims} message. */
public final class AttestationClaimsProto {
    private AttestationClaimsProto() {}

    /** The claims as sent to agents and authz replicas, with the SPIFFE ID the certificate carries. */
    public static Claims of(AttestationClaims c, String spiffeId) {
        return Claims.newBuilder()
                .setNodeId(c.nodeId())
                .setSpiffeId(spiffeId)
                .setTee(c.tee().wireName())
                .putAllMeasurements(c.measurements())
                .setTcbStatus(c.tcbStatus())
                .addAllAdvisoryIds(c.advisoryIds())
                .addAllPolicies(c.policies().stream()
                        .map(p -> PolicyRef.newBuilder().setId(p.id()).setVersion(p.version()).build()).toList())
                .setInsecure(c.insecure())
                .setDebug(c.debug())
                .setEvidenceSha256(ByteString.copyFrom(c.evidenceSha256()))
                .setAttestedAt(timestamp(c.attestedAt()))
                .build();
    }

    public static Timestamp timestamp(Instant i) {
        return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
    }
}
