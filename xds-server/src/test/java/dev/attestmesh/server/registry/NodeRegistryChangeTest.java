package dev.attestmesh.server.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.authz.RegistryChange;
import dev.attestmesh.server.ControlPlaneFixture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What the registry tells ext_authz about each change ({@link RegistryChange}): the decision cache keeps every
 * decision a change does not name, so a change that fails to name what it altered would leave a stale allow.
 */
class NodeRegistryChangeTest {
    static final String GOOD = ControlPlaneFixture.GOOD;

    @Test
    void aNodesChangesNameItWithItsPrincipalsBeforeAndAfterAndACaRotationIsAChangeOfEverything() throws Exception {
        try (ControlPlaneFixture f = ControlPlaneFixture.start(ControlPlaneFixture.simPolicy("default", GOOD), Map.of())) {
            NodeRegistry registry = f.cp.registry();
            LinkedBlockingQueue<RegistryChange> told = new LinkedBlockingQueue<>();
            registry.addTargetedChangeListener(told::add);

            f.agent("node-a", GOOD).attestOnce();
            NodeEntry a = registry.entry("node-a").orElseThrow();
            List<RegistryChange> attested = drain(told);
            assertFalse(attested.isEmpty(), "attesting is a change");
            for (RegistryChange c : attested) {
                assertEquals(Set.of("node-a"), c.nodeIds(), "attesting names the node: " + c);
                assertEquals(Set.of(a.spiffeId()), c.principals());
            }

            assertTrue(registry.revoke("node-a", "operator: test"));
            assertEquals(List.of(RegistryChange.node("node-a", a.spiffeId(), a.spiffeId())), drain(told));

            // The same node recorded under another SPIFFE ID: both principals' decisions are made again
            NodeEntry r = registry.entry("node-a").orElseThrow();
            String other = "spiffe://attestmesh.local/svc/other";
            registry.put(new NodeEntry(r.nodeId(), other, r.tee(), r.measurement(), r.state(), r.stateReason(),
                    r.claims(), r.satisfiedPolicies(), r.certChainPem(), r.certSerialHex(), r.certSha256(),
                    r.previousCertSha256(), r.certNotAfter(), r.evidenceExpiresAt(), r.attestedAt(), r.evidence(),
                    r.registration(), r.keySha256(), r.kubernetes()));
            RegistryChange moved = told.poll(5, TimeUnit.SECONDS);
            assertEquals(Set.of("node-a"), moved.nodeIds());
            assertEquals(Set.of(a.spiffeId(), other), moved.principals());

            // The trust bundle changes under every decision by certificate and every caller's verdict
            f.cp.rotateIntermediate(Duration.ofMinutes(30));
            List<RegistryChange> rotated = drain(told);
            assertTrue(rotated.contains(RegistryChange.EVERYTHING), "a CA rotation re-decides everything: " + rotated);

            registry.reappraiseAll(); // what a policy or registration change runs
            assertSame(RegistryChange.EVERYTHING, told.poll(5, TimeUnit.SECONDS));
            assertNull(told.poll(50, TimeUnit.MILLISECONDS));
        }
    }

    private static List<RegistryChange> drain(LinkedBlockingQueue<RegistryChange> q) throws InterruptedException {
        List<RegistryChange> out = new ArrayList<>();
        RegistryChange c = q.poll(2, TimeUnit.SECONDS);
        while (c != null) {
            out.add(c);
            c = q.poll(100, TimeUnit.MILLISECONDS);
        }
        return out;
    }
}
