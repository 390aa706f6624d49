package dev.attestmesh.perf.issuance;

import com.google.protobuf.ByteString;
import dev.attestmesh.agent.ControlPlaneChannels;
import dev.attestmesh.agent.NodeKeyPair;
import dev.attestmesh.api.v1.AttestRequest;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.ChallengeRequest;
import dev.attestmesh.api.v1.ChallengeResponse;
import dev.attestmesh.identity.RegistrationDocuments;
import dev.attestmesh.issuance.ReportDataBinding;
import dev.attestmesh.perf.issuance.SimulatedCluster.PodToken;
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
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.HdrHistogram.ConcurrentHistogram;

/**
 * Load harness: a real control plane (embedded store, mesh CA, sim verifier) on loopback, and
 * {@code clients} threads that each loop Challenge, simulated evidence bound to the nonce and a node
 * key, Attest, until the time or the count limit is reached. In the timed window each attestation uses a
 * new node id, so the registry and the issuance log grow as they would in a real mesh; the long warm-up
 * re-attests a bounded set of node ids (see {@link Phase#recycling}). Each client signs one CSR before a
 * phase starts and sends it with every Attest: the control plane reads only its key and signature and
 * decodes and verifies both on every call, so the window holds the server's work and not the client's
 * signing (the evidence, bound to each nonce, is still made per call).
 *
 * <p>In {@linkplain Mode#KUBERNETES Kubernetes mode} the control plane verifies projected
 * service-account tokens against a {@link SimulatedCluster}'s JWK set file, and every Challenge carries
 * a token of its own pod (a new pod UID each time) with an empty node id; Attest uses the node id the
 * Challenge returns (the pod UID). The registrations are of the Istio form
 * {@code spiffe://attestmesh.local/ns/perf/sa/<sa>} with the {@code kubernetes} selector, so every pod
 * of a service account shares one SPIFFE ID, as in a Kubernetes deployment. Every phase's tokens are
 * minted before the control plane starts (one per attestation; the warm-up re-attests its pods in turn);
 * a phase whose pool runs out ends early and says so.
 *
 * <p>A warm-up phase with the same clients runs first and is not counted: on two cores the JIT compiler
 * competes with the load for about a minute before the attestation path is fully compiled, so a shorter
 * warm-up measures the compiler rather than the control plane. The rate of the first ten seconds of the
 * warm-up is reported too, as the cold-start figure.
 */
public final class AttestationLoad {
    /** How the attesting nodes are identified. */
    public enum Mode {
        /** A node id chosen by the client, one registration {@code /node/{nodeId}}. */
        PLAIN,
        /** A service-account token per pod, Istio-form registrations per service account. */
        KUBERNETES
    }

    /** Service accounts of the Kubernetes mode; pods are spread over them in turn. */
    static final List<String> SERVICE_ACCOUNTS = List.of("api", "web", "worker", "batch");
    /** Ceiling assumed when minting the warm-up's tokens before it starts, attestations per second. */
    static final int WARMUP_TOKEN_RATE = 1_600;
    /**
     * Most tokens minted for the warm-up after its first ten seconds; the warm-up re-attests their pods
     * in turn (each client thread keeps its own pods, so each pod keeps its key) once they are used.
     */
    static final int WARMUP_POOL_MAX = 48_000;

    /**
     * Outcome.
     *
     * @param mintedTokens tokens minted over the run (0 in plain mode)
     * @param mintPerSecond tokens minted per second, all minting threads together (0 in plain mode)
     * @param poolExhausted whether a phase ended early because its token pool ran out
     * @param cpu how busy the machine was during the timed window, and with what
     * @param jitMillisInWindow time the JIT compilers spent during the timed window (all compiler threads,
     *     {@code CompilationMXBean}): near zero once the run is in a steady state
     * @param gcMillisInWindow collection time during the timed window (all collectors)
     */
    public record Result(double perSecond, double p50Ms, double p99Ms, long completed, long failed,
            double coldPerSecond, int warmupSeconds, Mode mode, long mintedTokens, double mintPerSecond,
            boolean poolExhausted, int registeredNodes, CpuShare cpu, long jitMillisInWindow,
            long gcMillisInWindow) {}

    private AttestationLoad() {}

    public static Result run(int clients, int warmupSeconds, int seconds, int maxAttestations) throws Exception {
        return run(Mode.PLAIN, clients, warmupSeconds, seconds, maxAttestations);
    }

    public static Result run(Mode mode, int clients, int warmupSeconds, int seconds, int maxAttestations)
            throws Exception {
        Path dir = Files.createTempDirectory("attestmesh-perf");
        String measurement = "a1".repeat(48);
        try {
            Optional<SimulatedCluster> cluster = mode == Mode.KUBERNETES
                    ? Optional.of(SimulatedCluster.create(dir, "perf", SERVICE_ACCOUNTS)) : Optional.empty();
            ControlPlaneSettings settings = ControlPlaneSettings.forTests(dir, Optional.empty());
            if (cluster.isPresent()) {
                settings = settings.withServiceAccountTokens(cluster.get().verifier());
            }
            Minting minting = new Minting(cluster);
            int coldWindow = Math.min(10, warmupSeconds);
            // Every phase's tokens: minted before the control plane starts, so that it starts cold.
            Phase cold = new Phase("cold", minting.mint(WARMUP_TOKEN_RATE * coldWindow), Integer.MAX_VALUE);
            Phase warm = new Phase("warm", minting.mint(Math.min(WARMUP_POOL_MAX,
                    WARMUP_TOKEN_RATE * (warmupSeconds - coldWindow))), Integer.MAX_VALUE)
                    .recycling(Math.min(WARMUP_POOL_MAX, WARMUP_TOKEN_RATE * (warmupSeconds - coldWindow)));
            // The timed window's tokens too, at twice the ceiling: minted after the warm-up, they left the control
            // plane idle for 15-20 s between the warm-up and the window, and in both runs made that way the JIT then
            // compiled for about 2 s of the 10 s window (2026-12-07); now the window follows the warm-up at once.
            int measuredCap = (int) Math.min(maxAttestations, 2L * WARMUP_TOKEN_RATE * seconds + clients);
            Phase measured = new Phase("node", minting.mint(measuredCap), maxAttestations);
            try (ControlPlane cp = ControlPlane.start(settings, Clock.systemUTC(), EvidenceVerifierSet.defaults())) {
                cp.policies().replace(PolicyDocuments.parse("""
                        policies:
                          - id: default
                            tee: [sim]
                            reference:
                              sim:
                                measurement: ["%s"]
                        """.formatted(measurement), "perf"));
                cp.registrations().replace(RegistrationDocuments.parse(registrations(mode),
                        "perf", cp.settings().trustDomain()));
                ManagedChannel ch = ControlPlaneChannels.open("127.0.0.1:" + cp.grpcPort(), cp.trustBundle(),
                        Optional.empty());
                SimulatedTee tee = SimulatedTee.withMeasurementHex(measurement);
                // Warm-up, not counted except for the cold-start rate of its first ten seconds.
                cold.run(ch, tee, clients, coldWindow);
                warm.run(ch, tee, clients, warmupSeconds - coldWindow);
                CpuShare.Sample before = CpuShare.sample();
                long jit0 = jitMillis();
                long gc0 = gcMillis();
                measured.run(ch, tee, clients, seconds);
                CpuShare cpu = CpuShare.between(before, CpuShare.sample());
                long jit = jitMillis() - jit0;
                long gc = gcMillis() - gc0;
                ch.shutdownNow();
                return new Result(measured.perSecond(), measured.latency.getValueAtPercentile(50) / 1e6,
                        measured.latency.getValueAtPercentile(99) / 1e6, measured.issued.get(),
                        measured.failures.get(), cold.perSecond(), warmupSeconds, mode, minting.count,
                        minting.perSecond(), cold.exhausted || warm.exhausted || measured.exhausted,
                        cp.registry().entries().size(), cpu, jit, gc);
            }
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static long jitMillis() {
        var jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : -1;
    }

    static long gcMillis() {
        return java.lang.management.ManagementFactory.getGarbageCollectorMXBeans().stream()
                .mapToLong(java.lang.management.GarbageCollectorMXBean::getCollectionTime).filter(t -> t > 0).sum();
    }

    static String registrations(Mode mode) {
        if (mode == Mode.PLAIN) {
            return """
                    registrations:
                      - id: nodes
                        spiffeId: spiffe://attestmesh.local/node/{nodeId}
                        policies: [default]
                    """;
        }
        // One registration per service account, capped at the largest maxInstances the format allows:
        // a run of about 100,000 attestations spreads over the service accounts and stays below it.
        return "registrations:\n" + SERVICE_ACCOUNTS.stream().map(sa -> """
                  - id: perf-%1$s
                    spiffeId: spiffe://attestmesh.local/ns/perf/sa/%1$s
                    policies: [default]
                    selectors:
                      kubernetes: {namespace: perf, serviceAccount: %1$s}
                    maxInstances: 100000
                """.formatted(sa)).collect(Collectors.joining());
    }

    /** Mints token pools (Kubernetes mode) or nothing, and keeps the count and time. */
    private static final class Minting {
        private final Optional<SimulatedCluster> cluster;
        private long count;
        private long nanos;

        Minting(Optional<SimulatedCluster> cluster) {
            this.cluster = cluster;
        }

        /** Empty in plain mode. */
        List<PodToken> mint(int n) throws Exception {
            if (cluster.isEmpty() || n <= 0) {
                return List.of();
            }
            long t0 = System.nanoTime();
            List<PodToken> pool = cluster.get().mint(n, Runtime.getRuntime().availableProcessors());
            nanos += System.nanoTime() - t0;
            count += pool.size();
            return pool;
        }

        double perSecond() {
            return nanos == 0 ? 0 : count / (nanos / 1e9);
        }
    }

    /** One timed phase: its clients, counters and (Kubernetes mode) token pool. */
    private static final class Phase {
        final String prefix;
        final List<PodToken> pool;
        final int max;
        final ConcurrentHistogram latency = new ConcurrentHistogram(3);
        final AtomicLong failures = new AtomicLong();
        final AtomicInteger issued = new AtomicInteger();
        volatile boolean exhausted;
        private boolean recycle;
        private int plainNodes;
        private double elapsedSeconds;

        Phase(String prefix, List<PodToken> pool, int max) {
            this.prefix = prefix;
            this.pool = new ArrayList<>(pool); // the only reference once minted: cleared after the phase
            this.max = max;
        }

        double perSecond() {
            return elapsedSeconds == 0 ? 0 : issued.get() / elapsedSeconds;
        }

        /**
         * This phase re-attests its pods (Kubernetes mode) or at most {@code plainNodes} node ids (plain mode)
         * in turn instead of running out of tokens or growing the registry with every attestation of a long
         * warm-up: client thread {@code c} uses pods or ids {@code c, c + clients, ...} only, so a node always
         * attests with the same thread's key (another key would be refused as a node-id takeover). Both modes
         * then reach the timed window with registries of similar size.
         */
        Phase recycling(int plainNodes) {
            recycle = true;
            this.plainNodes = plainNodes;
            return this;
        }

        void run(ManagedChannel ch, SimulatedTee tee, int clients, int seconds) throws InterruptedException {
            // One key and one signed CSR per client thread, made before the clock starts: the control plane
            // reads nothing from a CSR but its key and signature, and decodes and verifies both on every Attest
            // as if the request were new, so re-sending it measures the same server work without the client's
            // signing in the window (an agent signs on its own machine, not on the control plane's cores).
            List<NodeKeyPair> keys = new ArrayList<>();
            List<ByteString> csrs = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                NodeKeyPair k = NodeKeyPair.generate();
                keys.add(k);
                csrs.add(ByteString.copyFrom(k.csrDer(prefix + "-client-" + c)));
            }
            long start = System.nanoTime();
            long deadline = start + TimeUnit.SECONDS.toNanos(seconds);
            AtomicInteger counter = new AtomicInteger();
            boolean kubernetes = !pool.isEmpty();
            int poolSize = pool.size();
            List<Thread> threads = new ArrayList<>();
            int recycled = kubernetes ? poolSize : plainNodes;
            int usable = recycled - recycled % clients; // a whole number of pods or node ids per client thread
            for (int c = 0; c < clients; c++) {
                int client = c;
                threads.add(Thread.ofPlatform().start(() -> {
                    int turn = 0;
                    var stub = AttestationServiceGrpc.newBlockingStub(ch);
                    NodeKeyPair key = keys.get(client);
                    ByteString csr = csrs.get(client);
                    while (System.nanoTime() < deadline) {
                        int n = counter.incrementAndGet();
                        if (n > max) {
                            return;
                        }
                        if (kubernetes && !recycle && n > poolSize) {
                            exhausted = true;
                            return;
                        }
                        int token = recycle && usable > 0 ? (client + (turn++) * clients) % usable : n - 1;
                        long t0 = System.nanoTime();
                        try {
                            String node;
                            byte[] nonce;
                            if (kubernetes) {
                                // The node id is the pod UID the token is bound to; the Challenge says so.
                                ChallengeResponse r = stub.withDeadlineAfter(10, TimeUnit.SECONDS).challenge(
                                        ChallengeRequest.newBuilder().setServiceAccountToken(pool.get(token).token())
                                                .build());
                                node = r.getNodeId();
                                nonce = r.getNonce().toByteArray();
                            } else {
                                node = prefix + "-" + (recycle && usable > 0 ? token : n);
                                nonce = stub.withDeadlineAfter(10, TimeUnit.SECONDS)
                                        .challenge(ChallengeRequest.newBuilder().setNodeId(node).build()).getNonce()
                                        .toByteArray();
                            }
                            byte[] ev = tee.collect(ReportDataBinding.expected(nonce, key.subjectPublicKeyInfoDer()));
                            stub.withDeadlineAfter(10, TimeUnit.SECONDS).attest(AttestRequest.newBuilder()
                                    .setNodeId(node).setTee("sim").setEvidence(ByteString.copyFrom(ev))
                                    .setCsr(csr).setNonce(ByteString.copyFrom(nonce))
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
            elapsedSeconds = (System.nanoTime() - start) / 1e9;
            // Spent tokens are garbage: kept, they would make the heap the collector traces in later
            // phases larger than the plain mode's by about 1 KiB per token.
            pool.clear();
        }
    }
}
