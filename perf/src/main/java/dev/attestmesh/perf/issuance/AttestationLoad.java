package dev.attestmesh.perf.issuance;

import com.google.protobuf.ByteString;
import dev.attestmesh.agent.ControlPlaneChannels;
import dev.attestmesh.agent.NodeKeyPair;
import dev.attestmesh.api.v1.AttestRequest;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.ChallengeRequest;
import dev.attestmesh.issuance.ReportDataBinding;
import dev.attestmesh.policy.PolicyDocuments;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.ControlPlaneSettings;
import dev.attestmesh.server.EvidenceVerifierSet;
import io.grpc.ManagedChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.HdrHistogram.ConcurrentHistogram;

/**
 * Load harness: a real control plane (embedded store, mesh CA, sim verifier) on loopback, and
 * {@code clients} threads that each loop Challenge, simulated evidence bound to the nonce and a node
 * key, Attest, until the time or the count limit is reached. Each attestation uses a new node id, so the
 * registry and the issuance log grow as they would in a real mesh.
 *
 * <p>A warm-up phase with the same clients runs first and is not counted: on two cores the JIT compiler
 * competes with the load for about a minute before the attestation path is fully compiled, so a shorter
 * warm-up measures the compiler rather than the control plane. The rate of the first ten seconds of the
 * warm-up is reported too, as the cold-start figure.
 */
public final class AttestationLoad {
    /** Outcome. */
    public record Result(double perSecond, double p50Ms, double p99Ms, long completed, long failed,
            double coldPerSecond, int warmupSeconds) {}

    private AttestationLoad() {}

    public static Result run(int clients, int warmupSeconds, int seconds, int maxAttestations) throws Exception {
        Path dir = Files.createTempDirectory("attestmesh-perf");
        String measurement = "a1".repeat(48);
        try (ControlPlane cp = ControlPlane.start(ControlPlaneSettings.forTests(dir, Optional.empty()),
                Clock.systemUTC(), EvidenceVerifierSet.defaults())) {
            cp.policies().replace(PolicyDocuments.parse("""
                    policies:
                      - id: default
                        tee: [sim]
                        reference:
                          sim:
                            measurement: ["%s"]
                    """.formatted(measurement), "perf"));
            cp.registrations().replace(dev.attestmesh.identity.RegistrationDocuments.parse("""
                    registrations:
                      - id: nodes
                        spiffeId: spiffe://attestmesh.local/node/{nodeId}
                        policies: [default]
                    """, "perf", cp.settings().trustDomain()));
            ManagedChannel ch = ControlPlaneChannels.open("127.0.0.1:" + cp.grpcPort(), cp.trustBundle(),
                    Optional.empty());
            ConcurrentHistogram latency = new ConcurrentHistogram(3);
            AtomicLong failures = new AtomicLong();
            AtomicInteger issued = new AtomicInteger();
            SimulatedTee tee = SimulatedTee.withMeasurementHex(measurement);
            // Warm-up, not counted except for the cold-start rate of its first ten seconds.
            int coldWindow = Math.min(10, warmupSeconds);
            AtomicInteger warmIssued = new AtomicInteger();
            long warmStart = System.nanoTime();
            runFor(ch, tee, clients, coldWindow, Integer.MAX_VALUE, new ConcurrentHistogram(3), new AtomicLong(),
                    warmIssued, "cold");
            double cold = coldWindow == 0 ? 0 : warmIssued.get() / ((System.nanoTime() - warmStart) / 1e9);
            runFor(ch, tee, clients, warmupSeconds - coldWindow, Integer.MAX_VALUE, new ConcurrentHistogram(3),
                    new AtomicLong(), new AtomicInteger(), "warm");
            long start = System.nanoTime();
            runFor(ch, tee, clients, seconds, maxAttestations, latency, failures, issued, "node");
            double elapsed = (System.nanoTime() - start) / 1e9;
            ch.shutdownNow();
            return new Result(issued.get() / elapsed, latency.getValueAtPercentile(50) / 1e6,
                    latency.getValueAtPercentile(99) / 1e6, issued.get(), failures.get(), cold, warmupSeconds);
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static void runFor(ManagedChannel ch, SimulatedTee tee, int clients, int seconds, int max,
            ConcurrentHistogram latency, AtomicLong failures, AtomicInteger issued, String prefix)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        AtomicInteger counter = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            threads.add(Thread.ofPlatform().start(() -> {
                var stub = AttestationServiceGrpc.newBlockingStub(ch);
                NodeKeyPair key = NodeKeyPair.generate(); // one key per client thread; CSRs are cheap to sign
                while (System.nanoTime() < deadline) {
                    int n = counter.incrementAndGet();
                    if (n > max) {
                        return;
                    }
                    String node = prefix + "-" + n;
                    long t0 = System.nanoTime();
                    try {
                        byte[] nonce = stub.withDeadlineAfter(10, TimeUnit.SECONDS)
                                .challenge(ChallengeRequest.newBuilder().setNodeId(node).build()).getNonce().toByteArray();
                        byte[] ev = tee.collect(ReportDataBinding.expected(nonce, key.subjectPublicKeyInfoDer()));
                        stub.withDeadlineAfter(10, TimeUnit.SECONDS).attest(AttestRequest.newBuilder().setNodeId(node)
                                .setTee("sim").setEvidence(ByteString.copyFrom(ev))
                                .setCsr(ByteString.copyFrom(key.csrDer(node))).setNonce(ByteString.copyFrom(nonce))
                                .build());
                        latency.recordValue(System.nanoTime() - t0);
                        issued.incrementAndGet();
                    } catch (RuntimeException e) {
                        failures.incrementAndGet();
                    }
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
    }
}
