package dev.attestmesh.server.xds;

import static dev.attestmesh.server.testing.TestMesh.GOOD;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.server.registry.NodeEntry;
import dev.attestmesh.server.registry.NodeRegistry;
import dev.attestmesh.server.testing.TestMesh;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A node's change rebuilds its own snapshot and those of the nodes whose resources name it, not the fleet's
 * ({@link MeshResourceGenerator#affectedBy}); a change that can move it between services rebuilds every snapshot. A
 * dependency missed here is a caller keeping a revoked endpoint, or a proxyless server keeping a revoked caller in its
 * RBAC, until some unrelated change rebuilds it.
 */
class TargetedPublishTest {
    static final String MESH = """
            services:
              - name: orders
                members: {nodes: [orders-1, orders-2, orders-3, orders-4]}
                addresses: {orders-1: 10.0.0.1, orders-2: 10.0.0.2, orders-3: 10.0.0.3}
                ingress: [{port: 8443, appPort: 8080, policies: [default]}]
              - name: payments
                members: {spiffeIds: ["spiffe://attestmesh.local/node/payments-1"]}
                addresses: {payments-1: 10.0.0.9}
                ingress: [{port: 9443, appPort: 9080}]
                egress: [{port: 7001, service: orders, servicePort: 8443, policies: [default]}]
              - name: web
                members: {nodes: [web-1]}
                egress: [{port: 7003, service: payments, servicePort: 9443}]
              - name: greeter
                proxyless: true
                members: {nodes: [greeter-1]}
                ingress: [{port: 50051, policies: [default]}]
              - name: caller
                proxyless: true
                members: {nodes: [caller-1]}
                egress: [{service: greeter, policies: [default]}]
            """;

    TestMesh mesh;
    NodeRegistry registry;
    final java.util.Map<String, dev.attestmesh.agent.NodeAgent> agents = new java.util.HashMap<>();

    @BeforeEach
    void start() throws Exception {
        mesh = new TestMesh(Optional.of(MESH));
        for (String node : List.of("orders-1", "orders-2", "payments-1", "web-1", "greeter-1", "caller-1")) {
            dev.attestmesh.agent.NodeAgent agent = mesh.agent(node, GOOD);
            agent.attestOnce();
            agents.put(node, agent);
        }
        registry = mesh.cp.registry();
    }

    @AfterEach
    void stop() throws Exception {
        for (var a : agents.values()) {
            a.close();
        }
        mesh.close();
    }

    Snapshot snapshot(String node) {
        Snapshot s = mesh.cp.xdsCache().getSnapshot(node);
        assertNotNull(s, "node " + node + " has a snapshot");
        return s;
    }

    long built() {
        return mesh.cp.snapshotPublisher().snapshotsBuilt();
    }

    static String spiffe(String node) {
        return "spiffe://attestmesh.local/node/" + node;
    }

    @Test
    void aRevokedEndpointLeavesItsCallersWhileNodesThatDoNotSeeItAreNotRebuilt() {
        assertEquals(List.of("10.0.0.1:8443", "10.0.0.2:8443"),
                MeshSnapshotTest.endpoints(snapshot("payments-1"), "outbound|8443|orders"));
        NodeEntry o = registry.entry("orders-2").orElseThrow();
        assertEquals(Set.of("orders-2", "payments-1"), Set.copyOf(new MeshResourceGenerator(mesh.cp.mesh(), registry,
                mesh.cp.policies()).affectedBy("orders-2", Set.of(new dev.attestmesh.server.mesh.AttestedNodeIdentity(
                        o.spiffeId(), o.registration())))), "orders-2 and the members of its callers' services");
        long before = built();
        assertTrue(registry.revoke("orders-2", "test: compromised host"));
        assertEquals(List.of("10.0.0.1:8443"), MeshSnapshotTest.endpoints(snapshot("payments-1"), "outbound|8443|orders"),
                "the caller's endpoints lose the revoked node at once");
        assertEquals(null, mesh.cp.xdsCache().getSnapshot("orders-2"), "a revoked node gets nothing");
        assertEquals(1, built() - before, "only payments-1 was built again (orders-2 is revoked: no snapshot)");
    }

    @Test
    void aRevokedCallerLeavesAProxylessServersRbac() {
        String caller = spiffe("caller-1");
        assertTrue(snapshot("greeter-1").listeners().resources().toString().contains(caller),
                "the proxyless server allows its attested caller");
        long before = built();
        assertTrue(registry.revoke("caller-1", "test: compromised caller"));
        assertFalse(snapshot("greeter-1").listeners().resources().toString().contains(caller),
                "the revoked caller is out of the server's RBAC at once");
        assertEquals(1, built() - before, "only greeter-1 was built again");
    }

    @Test
    void aNodeThatLeavesAServiceByANewIdentityLeavesItsCallersEndpoints() {
        assertEquals(List.of("10.0.0.9:9443"), MeshSnapshotTest.endpoints(snapshot("web-1"), "outbound|9443|payments"));
        NodeEntry p = registry.entry("payments-1").orElseThrow();
        // The same node recorded under another SPIFFE ID: no longer a member of payments (members by SPIFFE ID)
        registry.put(new NodeEntry(p.nodeId(), "spiffe://attestmesh.local/svc/elsewhere", p.tee(), p.measurement(), p.state(), p.stateReason(),
                p.claims(), p.satisfiedPolicies(), p.certChainPem(), p.certSerialHex(), p.certSha256(),
                p.previousCertSha256(), p.certNotAfter(), p.evidenceExpiresAt(), p.attestedAt(), p.evidence(),
                p.registration(), p.keySha256(), p.kubernetes()));
        assertEquals(List.of(), MeshSnapshotTest.endpoints(snapshot("web-1"), "outbound|9443|payments"),
                "the node left payments: web-1 no longer routes to it");
        long before = built();
        registry.put(p); // back under its SPIFFE ID: a member again
        assertEquals(List.of("10.0.0.9:9443"), MeshSnapshotTest.endpoints(snapshot("web-1"), "outbound|9443|payments"));
        assertEquals(2, built() - before, "payments-1 and its caller web-1, no one else");
    }

    @Test
    void aNewNodeJoiningAServiceReachesItsCallersWithoutRebuildingTheRest() throws Exception {
        long before = built();
        dev.attestmesh.agent.NodeAgent orders3 = mesh.agent("orders-3", GOOD);
        agents.put("orders-3", orders3);
        orders3.attestOnce();
        assertEquals(List.of("10.0.0.1:8443", "10.0.0.2:8443", "10.0.0.3:8443"),
                MeshSnapshotTest.endpoints(snapshot("payments-1"), "outbound|8443|orders"), "the caller routes to it");
        assertEquals(2, built() - before, "orders-3 and its caller payments-1, no one else");
    }

    @Test
    void aMemberWithoutAnAddressIsLoggedOnceAMinuteNotOncePerSnapshotBuilt() throws Exception {
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        Logger generator = (Logger) LoggerFactory.getLogger(MeshResourceGenerator.class);
        generator.addAppender(logs);
        try {
            dev.attestmesh.agent.NodeAgent orders4 = mesh.agent("orders-4", GOOD); // a member with no address
            agents.put("orders-4", orders4);
            orders4.attestOnce();
            for (int i = 0; i < 20; i++) { // each rebuilds payments-1, whose endpoints list orders' members
                registry.put(registry.entry("payments-1").orElseThrow().withState(NodeState.ATTESTED, "renewal " + i));
            }
            List<String> warnings = logs.list.stream().filter(e -> e.getLevel() == Level.WARN)
                    .map(ILoggingEvent::getFormattedMessage).filter(m -> m.contains("orders-4")).toList();
            assertEquals(1, warnings.size(), "one line, not one per build: " + warnings);
            assertTrue(warnings.getFirst().contains("service 'orders'") && warnings.getFirst().contains("1 node(s)"),
                    warnings.getFirst());
        } finally {
            generator.detachAppender(logs);
        }
    }

    @Test
    void aRenewalOfANodeNobodyCallsBuildsOneSnapshot() throws Exception {
        long before = built();
        agents.get("web-1").attestOnce(); // a renewal (over mTLS, same key); web calls payments, nobody calls web
        assertEquals(1, built() - before, "web-1 alone was built again");
    }
}
