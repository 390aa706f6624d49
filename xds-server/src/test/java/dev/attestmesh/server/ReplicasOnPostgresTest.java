package dev.attestmesh.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.ControlPlaneChannels;
import dev.attestmesh.agent.NodeKeyPair;
import dev.attestmesh.api.v1.AttestRequest;
import dev.attestmesh.api.v1.AttestResponse;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.ChallengeRequest;
import dev.attestmesh.issuance.ReportDataBinding;
import dev.attestmesh.agent.AttestationRefusedException;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.issuance.IssuanceLogEntry;
import dev.attestmesh.policy.PolicyDocuments;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.demo.DemoAuthzClient;
import dev.attestmesh.server.store.DatabaseSettings;
import dev.attestmesh.server.store.TestPostgres;
import dev.attestmesh.server.testing.OpenAdsStream;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
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
 * Two control plane replicas on one PostgreSQL database: they share the CA and the outstanding nonces
 * (a Challenge on one, the Attest on the other), nodes attest against either, and a change on one
 * (revocation, policies) is enforced by the other within a second.
 * Runs on the PostgreSQL of {@code .ci/postgres start} / {@code ATTESTMESH_TEST_POSTGRES_URL}, or
 * Testcontainers; skipped with a message when none is available.
 */
class ReplicasOnPostgresTest {
    @TempDir
    Path dir;
    Path policies;
    DatabaseSettings pg;
    final List<AutoCloseable> open = new CopyOnWriteArrayList<>();

    @BeforeEach
    void database() throws Exception {
        pg = TestPostgres.freshSchema();
        policies = dir.resolve("policies.yaml");
        Files.writeString(policies, ControlPlaneRestartTest.policyYaml(EndToEndTest.GOOD));
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    ControlPlane replica(String name) throws Exception {
        // Same CA key (forTests) and database, own data directory: as separate hosts would have.
        ControlPlane cp = ControlPlane.start(ControlPlaneSettings.forTests(dir.resolve(name), Optional.of(policies)).withRegistrationFile(Optional.of(dev.attestmesh.server.testing.TestMesh.writeRegistrations(dir))).withDevMode(true)
                .withDatabase(pg), Clock.systemUTC(), EvidenceVerifierSet.defaults());
        open.add(cp);
        return cp;
    }

    NodeAgent agent(String id, ControlPlane cp) {
        NodeAgent a = new NodeAgent(new NodeAgent.Settings(id, "127.0.0.1:" + cp.grpcPort(), cp.trustBundle(),
                dir.resolve("nodes").resolve(id), Optional.empty(), Optional.empty()),
                SimulatedTee.withMeasurementHex(EndToEndTest.GOOD), Clock.systemUTC());
        open.add(a);
        return a;
    }

    @Test
    void replicasShareTheCaAndNodesAndEnforceARevocationMadeOnTheOtherWithinOneSecond() throws Exception {
        ControlPlane a = replica("a");
        ControlPlane b = replica("b");
        assertEquals(Pem.certificates(a.trustBundle()), Pem.certificates(b.trustBundle()),
                "replica B opened the CA that replica A created and sealed");

        NodeAgent payments = agent("payments", a);
        NodeAgent orders = agent("orders", b);
        AgentCredentials paymentsCreds = payments.attestOnce();
        AgentCredentials ordersCreds = orders.attestOnce();
        awaitTrue(() -> b.registry().entry("payments").isPresent() && a.registry().entry("orders").isPresent(), 2_000,
                "each replica learns the node attested on the other");

        List<IssuanceLogEntry> log = a.issuanceLog().list(1, 10);
        assertEquals(List.of(1L, 2L), log.stream().map(IssuanceLogEntry::sequence).toList());
        assertEquals(log, b.issuanceLog().list(1, 10), "one log for both replicas");
        assertTrue(b.issuanceLog().verify().intact());

        String ordersId = ordersCreds.claims().getSpiffeId();
        try (DemoAuthzClient onB = new DemoAuthzClient("127.0.0.1:" + b.grpcPort(), orders);
                DemoAuthzClient onA = new DemoAuthzClient("127.0.0.1:" + a.grpcPort(), payments)) {
            assertTrue(onB.check(paymentsCreds.leaf(), ordersId, List.of("default")).allowed(),
                    "B admits the node attested on A");
            assertTrue(onA.check(ordersCreds.leaf(), paymentsCreds.claims().getSpiffeId(), List.of("default"))
                    .allowed(), "A admits the node attested on B");

            long t0 = System.nanoTime();
            assertTrue(a.registry().revoke("payments", "revoked on replica A"));
            DemoAuthzClient.Result r;
            do {
                r = onB.check(paymentsCreds.leaf(), ordersId, List.of("default"));
                if (r.allowed()) {
                    Thread.sleep(10);
                }
            } while (r.allowed() && System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(1));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertFalse(r.allowed(), "replica B still admitted the node revoked on A after " + ms + " ms");
            assertTrue(ms < 1_000, "enforced on B within 1 s, took " + ms + " ms");
            assertTrue(r.detail().contains("revoked"), r.detail());
            System.out.println("revocation on replica A enforced by ext_authz on replica B after " + ms + " ms");
        }
        AttestationRefusedException again = assertThrows(AttestationRefusedException.class, payments::attestOnce,
                "the revoked node cannot attest again on A");
        assertTrue(again.getMessage().contains("revoked"), again.getMessage());
        NodeAgent paymentsViaB = agent("payments", b);
        AttestationRefusedException viaB = assertThrows(AttestationRefusedException.class, paymentsViaB::attestOnce,
                "nor on B");
        assertTrue(viaB.getMessage().contains("revoked"), viaB.getMessage());

        // A policy change on B reaches A.
        b.policies().replace(PolicyDocuments.parse(ControlPlaneRestartTest.policyYaml(EndToEndTest.GOOD + "\", \""
                + "d4".repeat(48)), "test"));
        awaitTrue(() -> a.policies().version("default").orElse(0) == 2, 1_000, "A sees version 2 of 'default'");
    }

    @Test
    void aSecretStoredOnOneReplicaIsReleasedByTheOtherAndItsDeletionTooWithinOneSecond() throws Exception {
        ControlPlane a = replica("a");
        ControlPlane b = replica("b");
        NodeAgent payments = agent("payments", b);
        AgentCredentials creds = payments.attestOnce();
        awaitTrue(() -> a.registry().entry("payments").isPresent(), 2_000, "replica A learns the node");
        // payments' Envoy streams to B, so B holds its snapshot (a replica builds them for its own proxies).
        try (OpenAdsStream ads = OpenAdsStream.open("127.0.0.1:" + b.grpcPort(), creds,
                payments.clientIdentity().orElseThrow())) {
            ads.awaitFirstResponse(Duration.ofSeconds(10));
            byte[] value = "shared-across-replicas".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            a.secrets().put("db", value, List.of("registration:nodes"), List.of()); // sealed by A, opened by B
            awaitTrue(() -> b.xdsCache().getSnapshot("payments") != null
                    && b.xdsCache().getSnapshot("payments").secrets().resources().containsKey("secret:db"), 1_000,
                    "replica B pushes the secret stored on A");
            payments.refreshSecrets(); // over B
            assertArrayEquals(value, Files.readAllBytes(payments.secretFiles().directory().resolve("db")));
            assertTrue(a.secrets().delete("db"));
            awaitTrue(() -> !b.xdsCache().getSnapshot("payments").secrets().resources().containsKey("secret:db"),
                    1_000, "replica B withdraws the secret deleted on A");
            payments.refreshSecrets();
            assertFalse(Files.exists(payments.secretFiles().directory().resolve("db")));
        }
    }

    /**
     * Replicas split the fleet: each builds and keeps xDS snapshots only for the proxies streaming to it, so a
     * change costs each replica its own proxies' snapshots. A node's snapshot is built when its first stream is
     * bound (before the stream's first answer), follows every change while the stream is open, whichever replica
     * made the change, and goes when its last stream ends.
     */
    @Test
    void eachReplicaBuildsSnapshotsOnlyForTheNodesStreamingToIt() throws Exception {
        ControlPlane a = replica("a");
        ControlPlane b = replica("b");
        NodeAgent web = agent("web", a);
        AgentCredentials creds = web.attestOnce(); // attested on A
        awaitTrue(() -> b.registry().entry("web").isPresent(), 2_000, "replica B learns the node");
        assertEquals(null, a.xdsCache().getSnapshot("web"), "no stream on A, no snapshot on A");
        assertEquals(null, b.xdsCache().getSnapshot("web"), "no stream on B yet, no snapshot on B");

        try (OpenAdsStream ads = OpenAdsStream.open("127.0.0.1:" + b.grpcPort(), creds,
                web.clientIdentity().orElseThrow())) {
            io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse first =
                    ads.awaitFirstResponse(Duration.ofSeconds(10));
            assertEquals(1, first.getResourcesCount(), "the first request is answered from the snapshot built for it");
            assertTrue(b.xdsCache().getSnapshot("web") != null, "B holds the snapshot of the node streaming to it");
            assertEquals(null, a.xdsCache().getSnapshot("web"), "A still holds none");
            ads.answer(first, Optional.empty());

            // The node renews on A: B's snapshot carries the new certificate; A, where it renewed, builds none.
            String before = b.xdsCache().getSnapshot("web").secrets().version();
            web.attestOnce();
            awaitTrue(() -> !b.xdsCache().getSnapshot("web").secrets().version().equals(before), 2_000,
                    "B rebuilds the snapshot after the renewal on A");
            assertEquals(null, a.xdsCache().getSnapshot("web"), "A holds none though the node renewed there");
        }
        awaitTrue(() -> b.xdsCache().getSnapshot("web") == null, 2_000,
                "B drops the snapshot once the node's last stream has ended");

        // Revoked while streaming: the stream is closed and no snapshot is left behind on either replica.
        AgentCredentials renewed = web.attestOnce(); // the stream's certificate is its current one
        try (OpenAdsStream ads = OpenAdsStream.open("127.0.0.1:" + b.grpcPort(), renewed,
                web.clientIdentity().orElseThrow())) {
            ads.awaitFirstResponse(Duration.ofSeconds(10));
            assertTrue(a.registry().revoke("web", "test: revoked while streaming to B"));
            assertEquals(Status.Code.PERMISSION_DENIED, ads.awaitEnd(Duration.ofSeconds(5)).getCode());
            awaitTrue(() -> b.xdsCache().getSnapshot("web") == null, 2_000, "B drops the revoked node's snapshot");
            assertEquals(null, a.xdsCache().getSnapshot("web"));
        }
    }

    @Test
    void aChallengeAnsweredByOneReplicaIsGoodForAnAttestOnTheOtherAndOnlyOnce() throws Exception {
        ControlPlane a = replica("a");
        ControlPlane b = replica("b");
        ManagedChannel toA = ControlPlaneChannels.open("127.0.0.1:" + a.grpcPort(), a.trustBundle(), Optional.empty());
        ManagedChannel toB = ControlPlaneChannels.open("127.0.0.1:" + b.grpcPort(), b.trustBundle(), Optional.empty());
        try {
            var stubA = AttestationServiceGrpc.newBlockingStub(toA).withDeadlineAfter(30, TimeUnit.SECONDS);
            var stubB = AttestationServiceGrpc.newBlockingStub(toB).withDeadlineAfter(30, TimeUnit.SECONDS);
            byte[] nonce = stubA.challenge(ChallengeRequest.newBuilder().setNodeId("roaming").build()).getNonce()
                    .toByteArray();
            assertEquals(1, b.nonces().outstanding(), "B sees the nonce A issued");
            NodeKeyPair key = NodeKeyPair.generate();
            AttestRequest attest = AttestRequest.newBuilder().setNodeId("roaming").setTee("sim")
                    .setEvidence(ByteString.copyFrom(SimulatedTee.withMeasurementHex(EndToEndTest.GOOD)
                            .collect(ReportDataBinding.expected(nonce, key.subjectPublicKeyInfoDer()))))
                    .setCsr(ByteString.copyFrom(key.csrDer("roaming"))).setNonce(ByteString.copyFrom(nonce)).build();
            AttestResponse issued = stubB.attest(attest);
            assertEquals("roaming", issued.getClaims().getNodeId());
            assertEquals(0, a.nonces().outstanding(), "consumed for both replicas");

            // The same request again, on either replica: the nonce is gone everywhere.
            for (var stub : List.of(stubA, stubB)) {
                StatusRuntimeException replay = assertThrows(StatusRuntimeException.class, () -> stub.attest(attest));
                assertEquals(Status.Code.FAILED_PRECONDITION, replay.getStatus().getCode());
                assertTrue(replay.getStatus().getDescription().contains("nonce rejected"),
                        replay.getStatus().getDescription());
            }
            assertEquals(1, a.issuanceLog().verify().entriesChecked(), "one certificate issued");

            // A nonce consumed on A by a failed attempt (wrong node id) cannot be used on B either.
            byte[] second = stubB.challenge(ChallengeRequest.newBuilder().setNodeId("roaming").build()).getNonce()
                    .toByteArray();
            AttestRequest thief = attest.toBuilder().setNodeId("thief").setNonce(ByteString.copyFrom(second))
                    .setCsr(ByteString.copyFrom(key.csrDer("thief"))).build();
            assertTrue(assertThrows(StatusRuntimeException.class, () -> stubA.attest(thief)).getStatus()
                    .getDescription().contains("issued for another node id"));
            AttestRequest late = attest.toBuilder().setNonce(ByteString.copyFrom(second)).build();
            assertTrue(assertThrows(StatusRuntimeException.class, () -> stubB.attest(late)).getStatus()
                    .getDescription().contains("not issued by this control plane, was already used"));
        } finally {
            toA.shutdownNow();
            toB.shutdownNow();
        }
    }

    @Test
    void replicasStartingTogetherOnAnEmptyDatabaseCreateOneCa() throws Exception {
        CompletableFuture<ControlPlane> a = CompletableFuture.supplyAsync(() -> startUnchecked("a"));
        CompletableFuture<ControlPlane> b = CompletableFuture.supplyAsync(() -> startUnchecked("b"));
        ControlPlane ca = a.get(60, TimeUnit.SECONDS);
        ControlPlane cb = b.get(60, TimeUnit.SECONDS);
        assertEquals(Pem.certificates(ca.trustBundle()), Pem.certificates(cb.trustBundle()));
    }

    private ControlPlane startUnchecked(String name) {
        try {
            return replica(name);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static void awaitTrue(BooleanSupplier condition, long millis, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + ": not within " + millis + " ms");
            }
            Thread.sleep(10);
        }
    }
}
