package dev.attestmesh.server.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.identity.RegistrationDocuments;
import dev.attestmesh.server.ControlPlaneFixture;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The live-instance count behind {@code maxInstances}, for an identity shared by several nodes. */
class NodeRegistryLiveInstancesTest {
    static final String GOOD = ControlPlaneFixture.GOOD;
    static final String SHARED = "spiffe://attestmesh.local/svc/shared";

    @Test
    void countsAttestedNodesWithValidCertificatesOtherThanTheOneAsking() throws Exception {
        try (ControlPlaneFixture f = ControlPlaneFixture.start(ControlPlaneFixture.simPolicy("default", GOOD), Map.of())) {
            f.cp.registrations().replace(RegistrationDocuments.parse("""
                    registrations:
                      - id: shared
                        spiffeId: %s
                        policies: [default]
                        selectors: {nodeId: "shared-*"}
                        maxInstances: 2
                    """.formatted(SHARED), "test", f.cp.settings().trustDomain()));
            NodeRegistry registry = f.cp.registry();
            Instant now = Instant.now();
            assertEquals(0, registry.liveInstances(SHARED, "none", now));

            NodeAgent a = f.agent("shared-a", GOOD);
            a.attestOnce();
            f.agent("shared-b", GOOD).attestOnce();
            assertEquals(2, registry.liveInstances(SHARED, "none", Instant.now()));
            assertEquals(1, registry.liveInstances(SHARED, "shared-a", Instant.now()));
            Instant notAfter = registry.entry("shared-a").orElseThrow().certNotAfter();
            assertEquals(0, registry.liveInstances(SHARED, "none", notAfter.plusSeconds(3600)),
                    "certificates expired by then");
            assertEquals(1, registry.liveInstances(SHARED, "shared-b", notAfter.minusSeconds(1)));

            // The cap holds: a third node is refused while both hold the identity.
            NodeAgent third = f.agent("shared-c", GOOD, Optional.of(SHARED));
            Exception refused = assertThrows(Exception.class, third::attestOnce);
            assertTrue(refused.getMessage().contains("at most 2 live instance"), refused.getMessage());

            // A node that loses its identity no longer counts; re-attesting counts it once.
            registry.revoke("shared-b", "test");
            assertEquals(1, registry.liveInstances(SHARED, "none", Instant.now()));
            a.attestOnce();
            assertEquals(1, registry.liveInstances(SHARED, "none", Instant.now()));
            assertEquals(0, registry.liveInstances(SHARED, "shared-a", Instant.now()));
            third.attestOnce();
            assertEquals(2, registry.liveInstances(SHARED, "none", Instant.now()));
        }
    }
}
