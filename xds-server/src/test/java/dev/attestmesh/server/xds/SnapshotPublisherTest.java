package dev.attestmesh.server.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.policy.PolicyDocuments;
import dev.attestmesh.server.testing.TestMesh;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SnapshotPublisherTest {
    @Test
    void secretOfARemovedButStillRequiredPolicyStaysPublishedAndNoEndpointQualifies() throws Exception {
        try (TestMesh mesh = new TestMesh(Optional.of("""
                services:
                  - name: orders
                    members: {nodes: [orders-1]}
                    addresses: {orders-1: 10.0.0.1}
                    ingress: [{port: 8443, appPort: 8080}]
                  - name: payments
                    members: {nodes: [payments-1]}
                    egress: [{port: 7001, service: orders, policies: [strict]}]
                """))) {
            mesh.attest("orders-1", TestMesh.STRICT);
            mesh.attest("payments-1", TestMesh.GOOD);
            Snapshot before = mesh.cp.xdsCache().getSnapshot("payments-1");
            assertEquals(List.of("10.0.0.1:8443"), MeshSnapshotTest.endpoints(before, "outbound|8443|orders"));

            // Keep only 'default': 'strict' is gone while the mesh config still requires it.
            mesh.cp.policies().replace(PolicyDocuments.parse(TestMesh.POLICIES, "test").stream()
                    .filter(p -> p.id().equals("default")).toList());

            Snapshot after = mesh.cp.xdsCache().getSnapshot("payments-1");
            assertTrue(after.secrets().resources().containsKey("policy:strict"),
                    "the referenced secret name stays answerable: " + after.secrets().resources().keySet());
            assertEquals(List.of(), MeshSnapshotTest.endpoints(after, "outbound|8443|orders"), "fails closed");
        }
    }
}
