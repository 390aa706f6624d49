package dev.attestmesh.server.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.authz.MeshPolicyTable;
import dev.attestmesh.authz.RegistryChange;
import dev.attestmesh.server.ControlPlaneFixture;
import dev.attestmesh.server.mesh.MeshPolicyLookup;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.registration.RegistrationRegistry;
import dev.attestmesh.server.store.ChangeNotifier;
import dev.attestmesh.server.store.Database;
import dev.attestmesh.server.store.DatabaseSettings;
import dev.attestmesh.server.store.NodeStore;
import dev.attestmesh.server.store.PolicyStore;
import dev.attestmesh.server.store.RegistrationStore;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
            registry.put(underAnotherSpiffeId(r, other));
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

    @Test
    void theMeshPolicyTableIsReusedWhileNoNodeJoinsOrMovesAndMadeAgainWhenOneDoes() throws Exception {
        try (ControlPlaneFixture f = ControlPlaneFixture.start(ControlPlaneFixture.simPolicy("default", GOOD), Map.of())) {
            NodeRegistry registry = f.cp.registry();
            f.cp.mesh().replace("""
                    services:
                      - name: web
                        members: {nodes: [node-a, node-b]}
                        ingress: [{port: 8443, appPort: 8080, policies: [default]}]
                    """);
            f.agent("node-a", GOOD).attestOnce();
            String a = registry.entry("node-a").orElseThrow().spiffeId();
            MeshPolicyTable first = registry.meshPolicyTable();
            assertEquals(Map.of(a, Map.of(8443, List.of("default"))), first.byPrincipal());

            // A revocation changes the node's state, not its principal: the table is the same one, not made again
            assertTrue(registry.revoke("node-a", "operator: test"));
            assertSame(first, registry.meshPolicyTable());

            // A node that joins is in the next table
            f.agent("node-b", GOOD).attestOnce();
            String b = registry.entry("node-b").orElseThrow().spiffeId();
            MeshPolicyTable joined = registry.meshPolicyTable();
            assertEquals(Set.of(a, b), joined.byPrincipal().keySet());

            // A node recorded under another SPIFFE ID takes its requirement with it (the mesh lookup's answer by node
            // id is the same map, so only the registry can tell the table changed)
            NodeEntry r = registry.entry("node-b").orElseThrow();
            String other = "spiffe://attestmesh.local/svc/other";
            registry.put(underAnotherSpiffeId(r, other));
            assertEquals(Set.of(a, other), registry.meshPolicyTable().byPrincipal().keySet());

            // A new mesh config is a new table
            f.cp.mesh().replace("""
                    services:
                      - name: web
                        members: {nodes: [node-a]}
                        ingress: [{port: 9443, appPort: 8080, policies: [default]}]
                    """);
            assertEquals(Map.of(a, Map.of(9443, List.of("default"))), registry.meshPolicyTable().byPrincipal());
        }
    }

    @Test
    void aNodeRecordedUnderAnotherSpiffeIdMakesTheTableAgainWhateverTheMeshLookupAnswers(@TempDir Path dir)
            throws Exception {
        // The table must not hang on the mesh lookup noticing the move: a table left with the old principal would
        // leave the node's new principal without its requirement on every standalone replica
        try (ControlPlaneFixture f = ControlPlaneFixture.start(ControlPlaneFixture.simPolicy("default", GOOD), Map.of())) {
            f.agent("node-a", GOOD).attestOnce();
            NodeEntry a = f.cp.registry().entry("node-a").orElseThrow();
            Map<String, Map<Integer, List<String>>> required = Map.of("node-a", Map.of(8443, List.of("default")));
            MeshPolicyLookup sameAnswer = new MeshPolicyLookup() { // one map instance, whatever the registry holds
                @Override
                public List<String> requiredPolicies(String nodeId, int port) {
                    return required.getOrDefault(nodeId, Map.of()).getOrDefault(port, List.of());
                }

                @Override
                public Map<String, Map<Integer, List<String>>> requiredPoliciesByNode() {
                    return required;
                }

                @Override
                public void addChangeListener(Runnable onChange) {
                    // never changes
                }
            };
            Clock clock = Clock.systemUTC();
            try (Database db = Database.open(DatabaseSettings.embedded(), dir);
                    ChangeNotifier changes = ChangeNotifier.forDatabase(db)) {
                PolicyRegistry policies = new PolicyRegistry(new PolicyStore(db), clock, changes);
                RegistrationRegistry registrations = new RegistrationRegistry(new RegistrationStore(db), policies,
                        "attestmesh.local", clock, changes);
                NodeRegistry registry = new NodeRegistry(new NodeStore(db), policies, registrations, List::of, clock,
                        changes, sameAnswer);
                registry.put(a);
                assertEquals(Set.of(a.spiffeId()), registry.meshPolicyTable().byPrincipal().keySet());
                String other = "spiffe://attestmesh.local/svc/other";
                registry.put(underAnotherSpiffeId(a, other));
                assertEquals(Map.of(other, Map.of(8443, List.of("default"))), registry.meshPolicyTable().byPrincipal());
            }
        }
    }

    /** {@code e}'s node recorded under {@code spiffeId}, all else the same. */
    static NodeEntry underAnotherSpiffeId(NodeEntry e, String spiffeId) {
        return new NodeEntry(e.nodeId(), spiffeId, e.tee(), e.measurement(), e.state(), e.stateReason(), e.claims(),
                e.satisfiedPolicies(), e.certChainPem(), e.certSerialHex(), e.certSha256(), e.previousCertSha256(),
                e.certNotAfter(), e.evidenceExpiresAt(), e.attestedAt(), e.evidence(), e.registration(), e.keySha256(),
                e.kubernetes());
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
