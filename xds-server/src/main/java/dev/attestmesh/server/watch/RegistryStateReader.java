package dev.attestmesh.server.watch;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import dev.attestmesh.api.v1.Claims;
import dev.attestmesh.api.v1.MeshPolicyRequirement;
import dev.attestmesh.api.v1.NodeRecord;
import dev.attestmesh.api.v1.PolicyRef;
import dev.attestmesh.authz.MeshPolicyTable;
import dev.attestmesh.authz.NodeAuthzRecord;
import dev.attestmesh.authz.watch.MeshPolicyTableCodec;
import dev.attestmesh.ca.AttestationClaims;
import dev.attestmesh.ca.AttestationClaimsProto;
import dev.attestmesh.policy.Policy;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.registry.NodeEntry;
import dev.attestmesh.server.registry.NodeRegistry;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Reads the registry, the policy versions, the trust bundle and the registry's mesh policy table into
 * a {@link RegistryState}. Records of entries that did not change since the previous read are reused,
 * so a read after one attestation encodes one node, not all of them; an unchanged mesh policy table is
 * not encoded again either. Not thread-safe: the watch service calls it from its one thread.
 */
final class RegistryStateReader {
    private final NodeRegistry registry;
    private final PolicyRegistry policies;
    private final Supplier<List<X509Certificate>> trustBundle;
    /** Last read's encoding per node, keyed by the entry instance it came from (entries are immutable). */
    private Map<String, Encoded> previous = Map.of();
    private MeshPolicyTable previousTable = MeshPolicyTable.EMPTY;
    private List<MeshPolicyRequirement> previousRequirements = List.of();

    private record Encoded(NodeEntry entry, NodeRecord record) {}

    RegistryStateReader(NodeRegistry registry, PolicyRegistry policies, Supplier<List<X509Certificate>> trustBundle) {
        this.registry = registry;
        this.policies = policies;
        this.trustBundle = trustBundle;
    }

    RegistryState read() {
        Map<String, Encoded> next = new HashMap<>();
        Map<String, NodeRecord> nodes = new HashMap<>();
        for (NodeEntry e : registry.entries()) {
            Encoded old = previous.get(e.nodeId());
            Encoded enc = old != null && old.entry() == e ? old : new Encoded(e, encode(e));
            next.put(e.nodeId(), enc);
            nodes.put(e.nodeId(), enc.record());
        }
        previous = next;
        Map<String, Long> versions = new TreeMap<>();
        for (Policy p : policies.all()) {
            versions.put(p.id(), p.version());
        }
        List<ByteString> bundle = trustBundle.get().stream().map(RegistryStateReader::der).toList();
        MeshPolicyTable table = registry.meshPolicyTable();
        if (!table.equals(previousTable)) {
            previousRequirements = MeshPolicyTableCodec.encode(table);
            previousTable = table;
        }
        return new RegistryState(nodes, versions, bundle, previousRequirements);
    }

    static NodeRecord encode(NodeEntry e) {
        NodeAuthzRecord authz = e.toAuthzRecord();
        NodeRecord.Builder b = NodeRecord.newBuilder()
                .setNodeId(e.nodeId())
                .setSpiffeId(e.spiffeId())
                .setState(e.state().name())
                .setRevocationReason(e.stateReason())
                .setMeasurement(e.measurement())
                .setCertificateSerial(e.certSerialHex())
                .setCertificateExpiresAt(timestamp(e.certNotAfter()))
                .setEvidenceExpiresAt(timestamp(e.evidenceExpiresAt()))
                .setRegistration(authz.registration());
        if (!e.certSha256().isEmpty()) {
            b.setCertificateSha256(ByteString.copyFrom(HexFormat.of().parseHex(e.certSha256())));
        }
        new TreeMap<>(e.satisfiedPolicies()).forEach((id, v) ->
                b.addSatisfiedPolicies(PolicyRef.newBuilder().setId(id).setVersion(v)));
        for (String hex : authz.certificateSha256Hex()) {
            b.addAcceptedCertificateSha256(ByteString.copyFrom(HexFormat.of().parseHex(hex)));
        }
        if (e.claims() != null) { // entries loaded from an old store may lack decoded claims
            b.setClaims(claims(e.claims(), e.spiffeId()));
        }
        return b.build();
    }

    private static Claims claims(AttestationClaims c, String spiffeId) {
        return AttestationClaimsProto.of(c, spiffeId);
    }

    static Timestamp timestamp(Instant i) {
        return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
    }

    private static ByteString der(X509Certificate c) {
        try {
            return ByteString.copyFrom(c.getEncoded());
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException("trust bundle certificate cannot be encoded", e);
        }
    }
}
