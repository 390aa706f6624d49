package dev.attestmesh.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.AttestationRefusedException;
import dev.attestmesh.agent.ControlPlaneChannels;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.agent.NodeKeyPair;
import dev.attestmesh.api.v1.AttestRequest;
import dev.attestmesh.api.v1.AttestResponse;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.ChallengeRequest;
import dev.attestmesh.identity.RegistrationDocuments;
import dev.attestmesh.issuance.ReportDataBinding;
import dev.attestmesh.policy.PolicyDocuments;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.server.demo.DemoAuthzClient;
import dev.attestmesh.server.mesh.MeshConfigRegistry;
import dev.attestmesh.server.mesh.MeshConfigStore;
import dev.attestmesh.server.revocation.RevocationKind;
import dev.attestmesh.server.revocation.RevocationRule;
import dev.attestmesh.server.revocation.Revocations;
import dev.attestmesh.server.store.Database;
import dev.attestmesh.server.store.DatabaseSettings;
import dev.attestmesh.server.store.TestPostgres;
import dev.attestmesh.server.testing.OpenAdsStream;
import dev.attestmesh.server.testing.TestMesh;
import io.grpc.ManagedChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two control plane replicas A and B on one PostgreSQL database agree (issue 11, "Replicas agree"): a
 * Challenge answered by A is good for an Attest on B; a revocation rule added on A is enforced by B's
 * ext_authz and B's admission within a second, and lifting it on A lifts it on B; a mesh config change
 * on A is in force on B (also when both replicas write at once); policy and registration changes on A
 * reach B. Propagation times are measured and printed ({@code replicas agree: ...}).
 *
 * <p>Runs on the PostgreSQL of {@code ATTESTMESH_TEST_POSTGRES_URL} / {@code .ci/postgres start}, or
 * Testcontainers; skipped with a message when none is available ({@link TestPostgres}). Every wait is
 * bounded ({@value #WAIT_MILLIS} ms).
 */
class ReplicasAgreeTest {
    /** Longest any wait polls; the revocation must be enforced well within it, in at most {@value #REVOCATION_BOUND_MILLIS} ms. */
    static final long WAIT_MILLIS = 5_000;
    static final long REVOCATION_BOUND_MILLIS = 1_000;
    /** The destination port of {@link DemoAuthzClient#networkCheck}. */
    static final int CHECK_PORT = 15006;

    @TempDir
    Path dir;
    Path policies;
    Path registrations;
    DatabaseSettings pg;
    final List<AutoCloseable> open = new CopyOnWriteArrayList<>();

    @BeforeEach
    void database() throws Exception {
        pg = TestPostgres.freshSchema(); // skips the test, saying why, without a PostgreSQL
        policies = Files.writeString(dir.resolve("policies.yaml"), TestMesh.POLICIES);
        registrations = TestMesh.writeRegistrations(dir);
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    ControlPlane replica(String name) throws Exception {
        // Same CA key (forTests) and database, own data directory: as separate hosts would have.
        ControlPlane cp = ControlPlane.start(ControlPlaneSettings.forTests(dir.resolve(name), Optional.of(policies))
                .withRegistrationFile(Optional.of(registrations)).withDevMode(true).withDatabase(pg),
                Clock.systemUTC(), EvidenceVerifierSet.defaults());
        open.add(cp);
        return cp;
    }

    NodeAgent agent(String id, ControlPlane cp, String measurementHex) {
        NodeAgent a = new NodeAgent(new NodeAgent.Settings(id, "127.0.0.1:" + cp.grpcPort(), cp.trustBundle(),
                dir.resolve("nodes").resolve(cp.grpcPort() + "-" + id), Optional.empty(), Optional.empty()),
                SimulatedTee.withMeasurementHex(measurementHex), Clock.systemUTC());
        open.add(a);
        return a;
    }

    @Test
    void replicasOnOneDatabaseAgreeOnNoncesRevocationRulesMeshConfigPoliciesAndRegistrations() throws Exception {
        ControlPlane a = replica("a");
        ControlPlane b = replica("b");

        challengeOnAAttestOnB(a, b);

        // payments holds 'default' and 'strict' (measurement STRICT); web and orders only 'default'.
        AgentCredentials payments = agent("payments", a, TestMesh.STRICT).attestOnce();
        NodeAgent orders = agent("orders", b, TestMesh.GOOD);
        AgentCredentials ordersCreds = orders.attestOnce();
        AgentCredentials web = agent("web", a, TestMesh.GOOD).attestOnce();
        awaitTrue(() -> b.registry().entry("payments").isPresent() && b.registry().entry("web").isPresent()
                && a.registry().entry("orders").isPresent(), "each replica learns the nodes attested on the other");
        String ordersId = ordersCreds.claims().getSpiffeId();

        // orders' Envoy streams to B, so B holds its xDS snapshot (a replica builds them for its own proxies).
        try (DemoAuthzClient onB = new DemoAuthzClient("127.0.0.1:" + b.grpcPort(), orders);
                OpenAdsStream ordersAds = OpenAdsStream.open("127.0.0.1:" + b.grpcPort(), ordersCreds,
                        orders.clientIdentity().orElseThrow())) {
            ordersAds.awaitFirstResponse(java.time.Duration.ofSeconds(10));
            revocationRuleOnAIsEnforcedOnBAndItsLiftToo(a, b, onB, payments, ordersId);
            meshChangeOnAIsInForceOnB(a, b, onB, web, ordersId);
        }
        concurrentMeshWritesOnBothReplicasSettleOnOneVersion(a, b);
        policyAndRegistrationChangesOnAReachB(a, b);
    }

    /** A nonce issued by A is accepted once by B. */
    private void challengeOnAAttestOnB(ControlPlane a, ControlPlane b) throws Exception {
        ManagedChannel toA = ControlPlaneChannels.open("127.0.0.1:" + a.grpcPort(), a.trustBundle(), Optional.empty());
        ManagedChannel toB = ControlPlaneChannels.open("127.0.0.1:" + b.grpcPort(), b.trustBundle(), Optional.empty());
        try {
            var stubA = AttestationServiceGrpc.newBlockingStub(toA).withDeadlineAfter(30, TimeUnit.SECONDS);
            var stubB = AttestationServiceGrpc.newBlockingStub(toB).withDeadlineAfter(30, TimeUnit.SECONDS);
            byte[] nonce = stubA.challenge(ChallengeRequest.newBuilder().setNodeId("roaming").build()).getNonce()
                    .toByteArray();
            NodeKeyPair key = NodeKeyPair.generate();
            AttestRequest attest = AttestRequest.newBuilder().setNodeId("roaming").setTee("sim")
                    .setEvidence(ByteString.copyFrom(SimulatedTee.withMeasurementHex(TestMesh.GOOD)
                            .collect(ReportDataBinding.expected(nonce, key.subjectPublicKeyInfoDer()))))
                    .setCsr(ByteString.copyFrom(key.csrDer("roaming"))).setNonce(ByteString.copyFrom(nonce)).build();
            AttestResponse issued = stubB.attest(attest);
            assertEquals("roaming", issued.getClaims().getNodeId(), "Challenge on A + Attest on B");
            assertEquals(0, a.nonces().outstanding(), "the nonce is consumed for both replicas");
        } finally {
            toA.shutdownNow();
            toB.shutdownNow();
        }
    }

    private void revocationRuleOnAIsEnforcedOnBAndItsLiftToo(ControlPlane a, ControlPlane b, DemoAuthzClient onB,
            AgentCredentials payments, String ordersId) throws Exception {
        assertTrue(onB.check(payments.leaf(), ordersId, List.of("default")).allowed(), "B admits payments");

        long t0 = System.nanoTime();
        Revocations.Applied applied = a.revocations().add(RevocationKind.MEASUREMENT, TestMesh.STRICT,
                "compromised build", "test");
        RevocationRule rule = applied.rule();
        DemoAuthzClient.Result r = onB.check(payments.leaf(), ordersId, List.of("default"));
        long deadline = t0 + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
        while (r.allowed() && System.nanoTime() < deadline) {
            Thread.sleep(5);
            r = onB.check(payments.leaf(), ordersId, List.of("default"));
        }
        long checkMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertFalse(r.allowed(), "B's ext_authz still admitted payments " + checkMs + " ms after the rule on A");
        assertTrue(r.detail().contains("revoked"), r.detail());
        awaitTrue(() -> b.revocations().get(rule.id()).isPresent(), "B holds the rule added on A");
        long ruleMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        System.out.println("replicas agree: revocation on A enforced on B after " + checkMs + " ms (ext_authz Check "
                + "denied); rule in force for B's admission after " + ruleMs + " ms");
        assertTrue(checkMs <= REVOCATION_BOUND_MILLIS, "B's Check denied within 1 s, took " + checkMs + " ms");
        assertTrue(ruleMs <= REVOCATION_BOUND_MILLIS, "B's admission holds the rule within 1 s, took " + ruleMs + " ms");

        // A node B never saw before, matching the rule, is refused by B: the rule itself is shared, not only
        // the node states A wrote.
        NodeAgent newcomer = agent("newcomer", b, TestMesh.STRICT);
        AttestationRefusedException refused = assertThrows(AttestationRefusedException.class, newcomer::attestOnce,
                "B refuses an attestation matching the rule added on A");
        assertTrue(refused.getMessage().contains("revocation rule " + rule.id()), refused.getMessage());

        // Lifting on A lifts on B: the rule goes, and B does not revoke payments again from a stale rule set.
        a.revocations().remove(rule.id()).orElseThrow();
        awaitTrue(() -> b.revocations().get(rule.id()).isEmpty()
                && b.registry().entry("payments").map(e -> e.state() == NodeState.EXPIRED).orElse(false),
                "B drops the rule and sees payments lifted to EXPIRED");
        AgentCredentials again = agent("newcomer", b, TestMesh.STRICT).attestOnce();
        assertEquals("newcomer", again.claims().getNodeId(), "B admits again once the rule is lifted on A");
        assertEquals(NodeState.EXPIRED, b.registry().entry("payments").orElseThrow().state(),
                "still lifted on B after further registry changes");
        assertEquals(NodeState.EXPIRED, a.registry().entry("payments").orElseThrow().state());
    }

    private void meshChangeOnAIsInForceOnB(ControlPlane a, ControlPlane b, DemoAuthzClient onB, AgentCredentials web,
            String ordersId) throws Exception {
        // Without a policy header the mesh config decides: orders requires nothing on CHECK_PORT yet.
        assertTrue(onB.check(web.leaf(), ordersId, List.of()).allowed(), "known destination, nothing required yet");
        // A destination B has no node for is denied, never "requires nothing".
        DemoAuthzClient.Result unknown = onB.check(web.leaf(), "spiffe://attestmesh.local/node/not-yet", List.of());
        assertFalse(unknown.allowed());
        assertTrue(unknown.detail().startsWith("destination not synced"), unknown.detail());

        long before = b.mesh().current().version();
        // Watches B's config in force (set before B rebuilds its snapshots), at most WAIT_MILLIS.
        CompletableFuture<Long> adoptedOnB = CompletableFuture.supplyAsync(() -> {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
            while (b.mesh().current().version() == before && System.nanoTime() < deadline) {
                java.util.concurrent.locks.LockSupport.parkNanos(200_000); // 0.2 ms resolution
            }
            return System.nanoTime();
        });
        long t0 = System.nanoTime();
        MeshConfigRegistry.VersionedMeshConfig v = a.mesh().replace(ordersRequiring("strict"));
        long replacedOnA = System.nanoTime();
        awaitTrue(() -> b.mesh().current().version() == v.version()
                && !onB.check(web.leaf(), ordersId, List.of()).allowed(), "B applies the mesh config stored by A");
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        System.out.println("replicas agree: mesh change on A in force on B after " + ms + " ms (B's ext_authz "
                + "requires 'strict'; B adopted version " + v.version() + " after "
                + TimeUnit.NANOSECONDS.toMillis(adoptedOnB.get(WAIT_MILLIS, TimeUnit.MILLISECONDS) - t0)
                + " ms; A's replace, which rebuilds A's "
                + "snapshots, returned after " + TimeUnit.NANOSECONDS.toMillis(replacedOnA - t0) + " ms)");
        assertTrue(ms <= WAIT_MILLIS);
        assertEquals(v.sha256(), b.mesh().current().sha256());
        assertEquals(List.of("strict"), b.registry().requiredPolicies(ordersId, CHECK_PORT));
        DemoAuthzClient.Result denied = onB.check(web.leaf(), ordersId, List.of());
        assertTrue(denied.detail().contains("does not satisfy policy 'strict'"), denied.detail());
        // B's xDS view follows too: orders' snapshot on B carries the new listener.
        awaitTrue(() -> b.xdsCache().getSnapshot("orders") != null
                && b.xdsCache().getSnapshot("orders").listeners().resources().containsKey("inbound|" + CHECK_PORT),
                "B rebuilt orders' snapshot");
    }

    /** Both replicas replace at once, several times: every write gets its own version and both end on the newest. */
    private void concurrentMeshWritesOnBothReplicasSettleOnOneVersion(ControlPlane a, ControlPlane b) throws Exception {
        long before = a.mesh().current().version();
        int rounds = 5;
        int stored = 0;
        for (int i = 0; i < rounds; i++) {
            String onA = ordersRequiring("default").replace("8080", String.valueOf(9000 + i));
            String onB = ordersRequiring("default").replace("8080", String.valueOf(9100 + i));
            CompletableFuture<Boolean> fa = CompletableFuture.supplyAsync(() -> replaced(a, onA));
            CompletableFuture<Boolean> fb = CompletableFuture.supplyAsync(() -> replaced(b, onB));
            stored += (fa.get(30, TimeUnit.SECONDS) ? 1 : 0) + (fb.get(30, TimeUnit.SECONDS) ? 1 : 0);
        }
        assertTrue(stored >= rounds, "at least one write per round is stored");
        try (Database db = Database.open(pg, dir.resolve("reader"))) {
            MeshConfigStore.StoredMeshConfig latest = new MeshConfigStore(db).latest().orElseThrow();
            assertEquals(before + stored, latest.version(), "each stored write took its own next version");
            awaitTrue(() -> a.mesh().current().version() == latest.version()
                    && b.mesh().current().version() == latest.version()
                    && a.mesh().current().sha256().equals(latest.sha256())
                    && b.mesh().current().sha256().equals(latest.sha256()), "both replicas hold the newest version");
        }
    }

    private static boolean replaced(ControlPlane cp, String document) {
        try {
            cp.mesh().replace(document);
            return true;
        } catch (MeshConfigRegistry.ConcurrentChangeException e) {
            return false; // nothing stored; the replica holds the newer version that won
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private void policyAndRegistrationChangesOnAReachB(ControlPlane a, ControlPlane b) throws Exception {
        long t0 = System.nanoTime();
        a.policies().replace(PolicyDocuments.parse(TestMesh.POLICIES.replace("[\"" + TestMesh.STRICT + "\"]",
                "[\"" + TestMesh.STRICT + "\", \"" + "d4".repeat(48) + "\"]"), "test"));
        awaitTrue(() -> b.policies().version("strict").orElse(0) == 2, "B sees version 2 of 'strict'");
        long policyMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

        List<dev.attestmesh.identity.Registration> next = new ArrayList<>(RegistrationDocuments.parse(
                TestMesh.REGISTRATIONS + """
                          - id: strict-services
                            spiffeId: spiffe://attestmesh.local/strict/{nodeId}
                            policies: [strict]
                        """, "test", "attestmesh.local"));
        t0 = System.nanoTime();
        a.registrations().replace(next);
        awaitTrue(() -> b.registrations().get("strict-services").isPresent(), "B sees the registration added on A");
        long registrationMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        System.out.println("replicas agree: policy change on A seen on B after " + policyMs
                + " ms; registration change after " + registrationMs + " ms");
    }

    static String ordersRequiring(String policy) {
        return """
                services:
                  - name: orders
                    members: {nodes: [orders]}
                    ingress: [{port: %d, appPort: 8080, policies: [%s]}]
                """.formatted(CHECK_PORT, policy);
    }

    static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + ": not within " + WAIT_MILLIS + " ms");
            }
            Thread.sleep(5);
        }
    }
}
