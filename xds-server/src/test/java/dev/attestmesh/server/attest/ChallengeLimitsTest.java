package dev.attestmesh.server.attest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.admission.NonceStore.Lane;
import dev.attestmesh.admission.challenge.ChallengeLimits;
import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.ChallengeRequest;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.ControlPlaneSettings;
import dev.attestmesh.server.EvidenceVerifierSet;
import dev.attestmesh.server.testing.TestMesh;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Challenge limits over real gRPC: anonymous callers are refused with RESOURCE_EXHAUSTED naming the
 * limit, counted by their source address, while a node renewing over mTLS with its current certificate
 * still gets its nonce and its certificate.
 */
class ChallengeLimitsTest {
    /**
     * 3 outstanding per peer address, 6 anonymous in all, 5 Challenges per address with no noticeable
     * refill; renewals unconstrained.
     */
    static final ChallengeLimits LIMITS = new ChallengeLimits(4, 3, 6, 100, 0.001, 5, 1_000, 1_000, 100, 100);

    @TempDir
    Path dir;
    final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    ControlPlane start() throws Exception {
        Path policies = Files.writeString(dir.resolve("policies.yaml"), TestMesh.POLICIES);
        ControlPlane cp = ControlPlane.start(ControlPlaneSettings.forTests(dir.resolve("cp"), Optional.of(policies))
                .withRegistrationFile(Optional.of(TestMesh.writeRegistrations(dir))).withChallengeLimits(LIMITS),
                Clock.systemUTC(), EvidenceVerifierSet.defaults());
        open.add(cp);
        return cp;
    }

    AttestationServiceGrpc.AttestationServiceBlockingStub from(ControlPlane cp, String localAddress) {
        ManagedChannel ch = LoopbackChannels.from(localAddress, cp.grpcPort(), cp.trustBundle(), Optional.empty());
        open.add(ch::shutdownNow);
        return AttestationServiceGrpc.newBlockingStub(ch);
    }

    static void challenge(AttestationServiceGrpc.AttestationServiceBlockingStub stub, String node) {
        stub.withDeadlineAfter(10, TimeUnit.SECONDS).challenge(ChallengeRequest.newBuilder().setNodeId(node).build());
    }

    static String refused(AttestationServiceGrpc.AttestationServiceBlockingStub stub, String node) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> challenge(stub, node));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.getStatus().toString());
        return e.getStatus().getDescription();
    }

    @Test
    void anonymousCallersAreLimitedPerAddressAndInAllWhileRenewalsOverMtlsGoOn() throws Exception {
        ControlPlane cp = start();
        NodeAgent agent = new NodeAgent(new NodeAgent.Settings("renewer", "127.0.0.1:" + cp.grpcPort(),
                cp.trustBundle(), dir.resolve("agent"), Optional.empty(), Optional.empty()),
                SimulatedTee.withMeasurementHex(TestMesh.GOOD), Clock.systemUTC());
        open.add(agent);
        AgentCredentials first = agent.attestOnce(); // anonymous: one token of 127.0.0.1, nonce consumed

        // One address: 3 outstanding, then refused by the per-address cap; after 5 calls, by its rate.
        var p2 = from(cp, "127.0.0.2");
        for (int i = 0; i < 3; i++) {
            challenge(p2, "p2-" + i);
        }
        String perPeer = refused(p2, "p2-3");
        assertTrue(perPeer.contains("peer address 127.0.0.2 holds 3 unused challenges (attestmesh.challenge.max-per-peer"
                + " = 3)"), perPeer);
        refused(p2, "p2-4");
        String rate = refused(p2, "p2-5");
        assertTrue(rate.contains("rate limit for peer address 127.0.0.2 reached (attestmesh.challenge.peer-rate"),
                rate);

        // Another address has its own allowance, until the anonymous lane is full.
        var p3 = from(cp, "127.0.0.3");
        for (int i = 0; i < 3; i++) {
            challenge(p3, "p3-" + i);
        }
        assertEquals(6, cp.nonces().outstanding(Lane.ANONYMOUS));
        String full = refused(from(cp, "127.0.0.4"), "p4");
        assertTrue(full.contains("6 unauthenticated challenges are outstanding (attestmesh.challenge.max-outstanding"
                + " = 6)"), full);

        // The node's certificate opens the renewal lane for its own node id only.
        ManagedChannel withCert = LoopbackChannels.from("127.0.0.5", cp.grpcPort(), cp.trustBundle(),
                agent.clientIdentity());
        open.add(withCert::shutdownNow);
        String otherNode = refused(AttestationServiceGrpc.newBlockingStub(withCert), "someone-else");
        assertTrue(otherNode.contains("attestmesh.challenge.max-outstanding"), otherNode);
        AgentCredentials renewed = agent.attestOnce();
        assertTrue(renewed.expiresAt().compareTo(first.expiresAt()) >= 0);
        assertEquals(0, cp.nonces().outstanding(Lane.RENEWAL), "the renewal consumed its nonce");
        assertEquals(6, cp.nonces().outstanding(Lane.ANONYMOUS));
    }
}
