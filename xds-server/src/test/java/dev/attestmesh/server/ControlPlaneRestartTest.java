package dev.attestmesh.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.issuance.IssuanceLogEntry;
import dev.attestmesh.policy.Policy;
import dev.attestmesh.policy.PolicyDocuments;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.demo.DemoAuthzClient;
import dev.attestmesh.server.registry.NodeEntry;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A control plane stopped and started again on the same data keeps everything: CA, policies with their
 * versions, node records (revocations included) and the issuance log; agents keep their certificates,
 * renew against the restarted control plane, and ext_authz decides as before.
 */
class ControlPlaneRestartTest {
    static final String GOOD = EndToEndTest.GOOD;
    static final String ALSO_GOOD = "c3".repeat(48);

    @TempDir
    Path dir;
    ApplicationContext ctx;
    final List<NodeAgent> agents = new ArrayList<>();

    @AfterEach
    void stop() {
        agents.forEach(NodeAgent::close);
        if (ctx != null) {
            ctx.close();
        }
    }

    ControlPlane start(int grpcPort, Optional<Path> policyFile) {
        Map<String, Object> props = new HashMap<>(Map.of(
                "attestmesh.data-dir", dir.resolve("cp").toString(),
                "attestmesh.grpc-bind", "127.0.0.1",
                "attestmesh.grpc-port", grpcPort,
                "attestmesh.admin-port", 0,
                "attestmesh.ca-key", "restart-test-key",
                "attestmesh.dev-mode", true)); // simulated-TEE nodes
        policyFile.ifPresent(p -> props.put("attestmesh.policy-file", p.toString()));
        props.put("attestmesh.registration-file",
                dev.attestmesh.server.testing.TestMesh.writeRegistrations(dir).toString());
        ctx = Micronaut.build(new String[0]).banner(false).properties(props).start();
        return ctx.getBean(ControlPlane.class);
    }

    NodeAgent agent(String id, int port, List<X509Certificate> bundle) {
        NodeAgent a = new NodeAgent(new NodeAgent.Settings(id, "127.0.0.1:" + port, bundle, dir.resolve("nodes").resolve(id),
                Optional.empty(), Optional.empty()), SimulatedTee.withMeasurementHex(GOOD), Clock.systemUTC());
        agents.add(a);
        return a;
    }

    @Test
    void restartOnTheSameDataKeepsNodesPoliciesAndLogAndAgentsRenewWithUnchangedDecisions() throws Exception {
        Path policies = dir.resolve("policies.yaml");
        Files.writeString(policies, policyYaml(GOOD));
        ControlPlane cp = start(0, Optional.of(policies));
        int port = cp.grpcPort();
        // A second version of 'default', so the test tells "versions kept" from "versions restarted at 1".
        cp.policies().replace(PolicyDocuments.parse(policyYaml(GOOD + "\", \"" + ALSO_GOOD), "test"));
        assertEquals(2, cp.policies().version("default").orElseThrow());
        List<X509Certificate> bundle = cp.trustBundle();

        NodeAgent payments = agent("payments", port, bundle);
        NodeAgent orders = agent("orders", port, bundle);
        NodeAgent victim = agent("victim", port, bundle);
        AgentCredentials paymentsCreds = payments.attestOnce();
        AgentCredentials ordersCreds = orders.attestOnce();
        AgentCredentials victimCreds = victim.attestOnce();
        assertTrue(cp.registry().revoke("victim", "compromised"));

        Map<String, NodeEntry> nodesBefore = byId(cp.registry().entries());
        Map<String, Long> versionsBefore = versions(cp.policies().all());
        List<IssuanceLogEntry> logBefore = cp.issuanceLog().list(1, 100);
        List<DemoAuthzClient.Result> decisionsBefore = decisions(cp, payments, paymentsCreds, ordersCreds, victimCreds);
        assertTrue(decisionsBefore.get(0).allowed() && decisionsBefore.get(1).allowed(), decisionsBefore.toString());
        assertFalse(decisionsBefore.get(2).allowed(), "the revoked node is denied before the restart");
        String bundleFile = Files.readString(cp.caBundleFile());
        ctx.close();
        ctx = null;

        // Same data, same port (agents know it), the same policy file: it only seeds an empty store, so the
        // stored policies are used as they are, the change made after the first start (version 2) included.
        cp = start(port, Optional.of(policies));
        assertEquals(bundleFile, Files.readString(cp.caBundleFile()), "the same CA after the restart");
        assertEquals(Pem.certificates(bundle), Pem.certificates(cp.trustBundle()));
        assertEquals(versionsBefore, versions(cp.policies().all()));
        assertEquals(2, cp.policies().version("default").orElseThrow());
        Map<String, NodeEntry> nodesAfter = byId(cp.registry().entries());
        assertEquals(nodesBefore.keySet(), nodesAfter.keySet());
        for (String id : nodesBefore.keySet()) {
            assertEquals(comparable(nodesBefore.get(id)), comparable(nodesAfter.get(id)), id);
        }
        assertEquals(NodeState.REVOKED, nodesAfter.get("victim").state());
        assertEquals(logBefore, cp.issuanceLog().list(1, 100));
        assertEquals(decisionsBefore.stream().map(DemoAuthzClient.Result::code).toList(),
                decisions(cp, payments, paymentsCreds, ordersCreds, victimCreds).stream()
                        .map(DemoAuthzClient.Result::code).toList(),
                "ext_authz decides as before the restart, on the certificates issued before it");

        // The same agents renew against the restarted control plane; the log continues its chain.
        AgentCredentials paymentsRenewed = payments.attestOnce();
        AgentCredentials ordersRenewed = orders.attestOnce();
        assertNotEquals(paymentsCreds.leaf().getSerialNumber(), paymentsRenewed.leaf().getSerialNumber());
        List<IssuanceLogEntry> logAfter = cp.issuanceLog().list(1, 100);
        assertEquals(logBefore.size() + 2, logAfter.size());
        assertEquals(logBefore, logAfter.subList(0, logBefore.size()));
        assertEquals(logBefore.getLast().hashHex(), logAfter.get(logBefore.size()).previousHashHex());
        assertTrue(cp.issuanceLog().verify().intact(), cp.issuanceLog().verify().problem().orElse(""));
        try (DemoAuthzClient authz = new DemoAuthzClient("127.0.0.1:" + port, payments)) {
            DemoAuthzClient.Result r = authz.check(ordersRenewed.leaf(), paymentsRenewed.claims().getSpiffeId(),
                    List.of("default"));
            assertTrue(r.allowed(), r.detail());
            DemoAuthzClient.Result old = authz.check(ordersCreds.leaf(), paymentsRenewed.claims().getSpiffeId(),
                    List.of("default"));
            assertTrue(old.allowed(), "the certificate replaced by the renewal stays valid until it expires: "
                    + old.detail());
        }
    }

    /** payments asks about orders, payments itself, and the revoked victim. */
    static List<DemoAuthzClient.Result> decisions(ControlPlane cp, NodeAgent asker, AgentCredentials payments,
            AgentCredentials orders, AgentCredentials victim) {
        try (DemoAuthzClient authz = new DemoAuthzClient("127.0.0.1:" + cp.grpcPort(), asker)) {
            String dest = payments.claims().getSpiffeId();
            return List.of(authz.check(orders.leaf(), dest, List.of("default")),
                    authz.check(payments.leaf(), dest, List.of("default")),
                    authz.check(victim.leaf(), dest, List.of("default")));
        }
    }

    static String policyYaml(String measurements) {
        return """
                policies:
                  - id: default
                    tee: [sim]
                    reference:
                      sim:
                        measurement: ["%s"]
                """.formatted(measurements);
    }

    static Map<String, NodeEntry> byId(java.util.Collection<NodeEntry> entries) {
        return entries.stream().collect(Collectors.toMap(NodeEntry::nodeId, e -> e));
    }

    static Map<String, Long> versions(java.util.Collection<Policy> policies) {
        return policies.stream().collect(Collectors.toMap(Policy::id, Policy::version));
    }

    /** What a restart must keep exactly (timestamps are stored to the microsecond, so they are compared so). */
    static List<Object> comparable(NodeEntry e) {
        return List.of(e.nodeId(), e.spiffeId(), e.tee(), e.measurement(), e.state(), e.stateReason(), e.claims(),
                e.satisfiedPolicies(), e.certChainPem(), e.certSerialHex(), e.certSha256(), e.previousCertSha256(),
                e.certNotAfter().getEpochSecond(), e.evidenceExpiresAt().getEpochSecond(),
                e.attestedAt().getEpochSecond());
    }
}
