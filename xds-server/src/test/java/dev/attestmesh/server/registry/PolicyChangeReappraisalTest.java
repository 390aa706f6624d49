package dev.attestmesh.server.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.policy.PolicyDocuments;
import dev.attestmesh.server.ControlPlaneFixture;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import dev.attestmesh.server.demo.DemoAuthzClient;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PolicyChangeReappraisalTest {
    static final String GOOD = ControlPlaneFixture.GOOD;

    @Test
    void policyChangeReappraisesStoredEvidenceAtOnce() throws Exception {
        try (ControlPlaneFixture f = ControlPlaneFixture.start(ControlPlaneFixture.simPolicy("default", GOOD), Map.of())) {
            NodeAgent a = f.agent("alpha", GOOD);
            NodeAgent b = f.agent("beta", GOOD);
            AgentCredentials ac = a.attestOnce();
            AgentCredentials bc = b.attestOnce();
            try (DemoAuthzClient authz = new DemoAuthzClient(f.target(), a)) {
                assertTrue(authz.check(bc.leaf(), ac.claims().getSpiffeId(), List.of("default")).allowed());

                // A compatible change (a second accepted measurement) bumps the version; beta keeps the policy.
                f.cp.policies().replace(PolicyDocuments.parse("""
                        policies:
                          - id: default
                            tee: [sim]
                            reference:
                              sim:
                                measurement: ["%s", "%s"]
                        """.formatted(GOOD, "b2".repeat(48)), "test"));
                assertEquals(2L, f.cp.policies().version("default").orElseThrow());
                assertEquals(Map.of("default", 2L), f.cp.registry().entry("beta").orElseThrow().satisfiedPolicies());
                assertTrue(authz.check(bc.leaf(), ac.claims().getSpiffeId(), List.of("default")).allowed(),
                        "still satisfied under version 2");

                // An Envoy on the new measurement, which keeps the policy through the next change
                NodeAgent g = f.agent("gamma", "b2".repeat(48));
                AgentCredentials gc = g.attestOnce();

                // The measurement is withdrawn: beta loses the policy immediately, without waiting for expiry.
                f.cp.policies().replace(PolicyDocuments.parse(ControlPlaneFixture.simPolicy("default", "b2".repeat(48)),
                        "test"));
                NodeEntry beta = f.cp.registry().entry("beta").orElseThrow();
                assertEquals(NodeState.EXPIRED, beta.state());
                assertTrue(beta.stateReason().contains("measurement"), beta.stateReason());
                try (DemoAuthzClient byGamma = new DemoAuthzClient(f.target(), g)) {
                    DemoAuthzClient.Result r = byGamma.check(bc.leaf(), gc.claims().getSpiffeId(), List.of("default"));
                    assertFalse(r.allowed());
                    assertTrue(r.detail().contains("node 'beta' is EXPIRED"), r.detail());
                }
                // Alpha lost the policy as well: as an Envoy it may no longer ask ext_authz at all
                StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
                        () -> authz.check(bc.leaf(), ac.claims().getSpiffeId(), List.of("default")));
                assertEquals(Status.Code.PERMISSION_DENIED, refused.getStatus().getCode());
            }
        }
    }

    /**
     * A policy change stored but not re-appraised (the process stopped first, or another replica made it and this
     * one only re-appraised in memory) is applied when the control plane starts again, and written.
     */
    @Test
    void aStoredChangeNotYetReappraisedIsAppliedAtStart() throws Exception {
        String withdrawn = ControlPlaneFixture.simPolicy("default", "b2".repeat(48));
        ControlPlaneFixture f = ControlPlaneFixture.start(ControlPlaneFixture.simPolicy("default", GOOD), Map.of());
        java.nio.file.Path dir = f.dir;
        try {
            f.agent("beta", GOOD).attestOnce();
            assertEquals(NodeState.ATTESTED, f.cp.registry().entry("beta").orElseThrow().state());
            f.stop();
            // The policy store changes behind the control plane's back: no listener runs, no record is written.
            try (var db = dev.attestmesh.server.store.Database.open(
                    dev.attestmesh.server.store.DatabaseSettings.embedded(), dir.resolve("cp"))) {
                String sha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                        .digest(withdrawn.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
                new dev.attestmesh.server.store.PolicyStore(db).replaceAll(List.of(
                        new dev.attestmesh.server.store.PolicyStore.StoredPolicy("default", 2, withdrawn, sha)),
                        java.time.Instant.now());
                assertEquals(NodeState.ATTESTED, new dev.attestmesh.server.store.NodeStore(db).load("beta")
                        .orElseThrow().state(), "the stored record still says ATTESTED");
            }
            // Restarted with the policy file the store now holds, so starting changes no policy.
            ControlPlaneFixture again = ControlPlaneFixture.startIn(dir, withdrawn, Map.of());
            NodeEntry beta = again.cp.registry().entry("beta").orElseThrow();
            assertEquals(NodeState.EXPIRED, beta.state(), beta.stateReason());
            assertTrue(beta.stateReason().contains("start-up re-appraisal"), beta.stateReason());
            again.stop();
            try (var db = dev.attestmesh.server.store.Database.open(
                    dev.attestmesh.server.store.DatabaseSettings.embedded(), dir.resolve("cp"))) {
                assertEquals(NodeState.EXPIRED, new dev.attestmesh.server.store.NodeStore(db).load("beta")
                        .orElseThrow().state(), "the start-up re-appraisal was written");
            }
        } finally {
            f.close();
        }
    }
}
