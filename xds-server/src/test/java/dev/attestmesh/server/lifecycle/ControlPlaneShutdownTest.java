package dev.attestmesh.server.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.AttestationRefusedException;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.issuance.IssuanceLogEntry;
import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.EvidenceVerifier;
import dev.attestmesh.quote.EvidenceVerifiers;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.sim.SimulatedEvidenceVerifier;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.ControlPlaneSettings;
import dev.attestmesh.server.testing.OpenAdsStream;
import dev.attestmesh.server.testing.TestMesh;
import io.grpc.Status;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The control plane's ordered shutdown, in process, where an attestation can be held mid-verification: new
 * calls are refused at once, the held attestation still gets its certificate, open ADS streams end with
 * {@code UNAVAILABLE} only after it, the grace bounds a stuck call, and the store reopens with what was issued.
 */
class ControlPlaneShutdownTest {
    private Path dir;
    private ControlPlane cp;
    private int port;
    private final GatedVerifier verifier = new GatedVerifier();
    // not the common pool: on a 2-core machine it has one thread, which the held attestation occupies
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @BeforeEach
    void start() throws IOException {
        dir = Files.createTempDirectory("attestmesh-shutdown");
        Files.writeString(dir.resolve("policies.yaml"), TestMesh.POLICIES);
        cp = ControlPlane.start(settings(), Clock.systemUTC(), EvidenceVerifiers.of(verifier));
        port = cp.grpcPort();
    }

    private ControlPlaneSettings settings() {
        return ControlPlaneSettings.forTests(dir.resolve("cp"), Optional.of(dir.resolve("policies.yaml")))
                .withRegistrationFile(Optional.of(TestMesh.writeRegistrations(dir)));
    }

    @AfterEach
    void cleanUp() throws IOException {
        verifier.release.countDown();
        cp.close();
        threads.shutdownNow();
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void finishesAnInFlightAttestationThenEndsStreamsWithUnavailableAndKeepsTheRecord() throws Exception {
        NodeAgent a = agent("node-a");
        AgentCredentials credsA = a.attestOnce();
        try (OpenAdsStream ads = OpenAdsStream.open(target(port), credsA, a.clientIdentity().orElseThrow())) {
            ads.awaitFirstResponse(Duration.ofSeconds(10));

            verifier.hold();
            CompletableFuture<AgentCredentials> inFlight = CompletableFuture.supplyAsync(() -> attest(agent("node-b")), threads);
            assertTrue(verifier.entered.await(10, TimeUnit.SECONDS), "node-b's attestation never reached verification");

            CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> cp.shutdown(Duration.ofSeconds(5)), threads);
            awaitPortClosed(port, Duration.ofSeconds(5));
            AttestationRefusedException refused = refusal(() -> agent("node-c").attestOnce());
            assertEquals("UNAVAILABLE", refused.code(), "a call after the stop began: " + refused.getMessage());
            assertTrue(refused.retryable(), "an agent retries a control plane that is going away");

            Thread.sleep(300); // shutdown is now waiting for node-b's attestation: nothing else may have ended
            assertFalse(shutdown.isDone(), "shutdown did not wait for the in-flight attestation");
            assertEquals(Optional.empty(), ads.endedWith(), "streams end only after in-flight calls finish");

            verifier.release.countDown();
            AgentCredentials credsB = inFlight.get(10, TimeUnit.SECONDS);
            assertEquals("spiffe://attestmesh.local/node/node-b", credsB.claims().getSpiffeId());
            shutdown.get(5, TimeUnit.SECONDS);

            Status end = ads.awaitEnd(Duration.ofSeconds(2));
            assertEquals(Status.Code.UNAVAILABLE, end.getCode(), "ADS stream ended with " + end);
            assertTrue(end.getDescription().contains("shutting down"), end.getDescription());
        }

        cp = ControlPlane.start(settings(), Clock.systemUTC(), EvidenceVerifiers.of(verifier));
        assertTrue(cp.registry().entry("node-b").isPresent(), "node-b's record survived the shutdown");
        List<IssuanceLogEntry> log = cp.issuanceLog().list(1, 100);
        assertEquals(List.of("node-a", "node-b"), log.stream().map(IssuanceLogEntry::nodeId).toList());
        assertTrue(cp.issuanceLog().verify().intact(), "issuance log intact after restart");
    }

    @Test
    void theGraceBoundsAnAttestationThatDoesNotFinish() throws Exception {
        verifier.hold();
        CompletableFuture<AttestationRefusedException> stuck =
                CompletableFuture.supplyAsync(() -> refusal(() -> agent("node-s").attestOnce()), threads);
        assertTrue(verifier.entered.await(10, TimeUnit.SECONDS), "the attestation never reached verification");

        long t0 = System.nanoTime();
        cp.shutdown(Duration.ofMillis(500));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(ms >= 500, "shutdown waited the grace for the in-flight call, took " + ms + " ms");
        assertTrue(ms < 4_000, "shutdown is bounded: grace + transport close, took " + ms + " ms");
        AttestationRefusedException e = stuck.get(5, TimeUnit.SECONDS);
        assertEquals("UNAVAILABLE", e.code(), "the cut call: " + e.getMessage());
        assertTrue(e.getMessage().contains("shutting down"), e.getMessage());
        assertTrue(e.retryable(), "an agent retries a call cut by shutdown");

        verifier.release.countDown();
        cp = ControlPlane.start(settings(), Clock.systemUTC(), EvidenceVerifiers.of(new GatedVerifier()));
        assertTrue(cp.issuanceLog().verify().intact(), "store reopens with an intact log");
    }

    @Test
    void aSecondShutdownDoesNothing() {
        cp.shutdown(Duration.ofSeconds(1));
        long t0 = System.nanoTime();
        cp.close();
        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) < 100, "close after shutdown returned at once");
    }

    private String target(int port) {
        return "127.0.0.1:" + port;
    }

    private NodeAgent agent(String id) {
        try {
            return new NodeAgent(new NodeAgent.Settings(id, target(port),
                    Pem.parseCertificates(Files.readString(cp.caBundleFile())), dir.resolve("nodes").resolve(id),
                    Optional.empty(), Optional.empty()), SimulatedTee.withMeasurementHex(TestMesh.GOOD), Clock.systemUTC());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static AgentCredentials attest(NodeAgent agent) {
        try {
            return agent.attestOnce();
        } catch (AttestationRefusedException e) {
            throw new AssertionError("attestation refused: " + e.code() + " " + e.getMessage(), e);
        }
    }

    interface Attempt {
        void run() throws Exception;
    }

    private static AttestationRefusedException refusal(Attempt attempt) {
        try {
            attempt.run();
        } catch (AttestationRefusedException e) {
            return e;
        } catch (Exception e) {
            throw new AssertionError("expected a refusal, got " + e, e);
        }
        throw new AssertionError("expected a refusal, but the attestation succeeded");
    }

    private static void awaitPortClosed(int port, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            } catch (IOException refused) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("port " + port + " still accepted connections " + limit + " after the stop began");
    }

    /** The simulator's verifier, which can hold a verification until released (an attestation in flight). */
    static final class GatedVerifier implements EvidenceVerifier {
        private final EvidenceVerifier delegate = SimulatedEvidenceVerifier.withDefaultKey();
        private volatile boolean holding;
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        void hold() {
            holding = true;
        }

        @Override
        public TeeType tee() {
            return delegate.tee();
        }

        @Override
        public VerifiedEvidence verify(VerificationRequest request) throws EvidenceVerificationException {
            if (holding) {
                entered.countDown();
                try {
                    if (!release.await(30, TimeUnit.SECONDS)) {
                        throw new IllegalStateException("test never released the held verification");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return delegate.verify(request);
        }
    }
}
