package dev.attestmesh.perf;

import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.NodeRecord;
import dev.attestmesh.api.v1.RegistryEvent;
import dev.attestmesh.api.v1.WatchRegistryRequest;
import dev.attestmesh.identity.ControlPlaneTrustManager;
import dev.attestmesh.perf.faults.FaultMesh;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.ControlPlaneSettings;
import dev.attestmesh.server.EvidenceVerifierSet;
import dev.attestmesh.server.registry.NodeEntry;
import dev.attestmesh.server.registry.NodeRegistry;
import dev.attestmesh.server.watch.RegistryWatchSettings;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.ByteArrayInputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * The control plane's side of the registry watch stream under registry churn ({@code perf/run registry-watch}): a
 * real in-process {@link ControlPlane} on loopback holding {@code N} nodes streams its registry over mutual TLS to one
 * watcher presenting an operator-issued replica certificate (the gRPC {@code WatchRegistry} call, as a standalone
 * ext_authz replica makes it). After the watcher's first full snapshot, one thread changes random existing nodes at
 * an evenly paced rate {@code R} per second for {@code D} seconds (each change flips the node between {@code
 * ATTESTED} and {@code EXPIRED} through {@link NodeRegistry#put}, with the reason {@code "perf churn <k>"}, {@code k}
 * the node's change counter, which the watcher reads back from the record's {@code revocation_reason} to know which
 * changes an event carried). The count is fixed ({@code R * D}); when {@code put} cannot keep up, the phase takes
 * longer and the rate achieved is printed.
 *
 * <p>Reported per registry size and rate: changes made (and the rate achieved), delta events received and the mean
 * nodes per delta; propagation latency p50/p99/max, from the change made (the registry announcing it to its node
 * listeners after its store write, before it tells the watch service) to the event carrying it received by the
 * watcher, each change coalesced into a later event counted from its own time, and a change that an event set off by
 * an earlier change carried before the registry announced it timed from just before its {@code put}; the mean time
 * of {@code put} itself (store write and synchronous listeners), apart; full snapshots received after the first
 * (expected 0); heartbeats; the CPU time of the control plane's watch thread ({@code attestmesh-registry-watch}, via
 * {@link ThreadMXBean}) as a share of one core and per change; the whole JVM's CPU in cores (every thread: both
 * control planes, the churn thread, the watcher), with its JIT and GC threads' part and what other processes took of
 * the machine (from {@code /proc}, where readable). A phase's window runs from its first change until the watcher has
 * seen its last one (bounded by {@link #DRAIN_LIMIT}).
 *
 * <p>The floor is the same churn at the same rate on a registry of {@value #FLOOR_NODES} nodes, measured in the same
 * run, interleaved with the size it is compared to (each control plane first churns unmeasured for up to {@value
 * #WARM_UP_S} s at the highest rate, so the JIT has compiled what it runs). The ratios are the watch thread's CPU per
 * change at {@code N} over the floor's, and latency p50 at {@code N} over the floor's.
 *
 * <p>The registry is seeded with one node attested for real (simulated TEE, dev mode) and {@code N - 1} copies of
 * its record under other node ids, SPIFFE IDs and certificate hashes, each written through {@link NodeRegistry#put}
 * (one store write each; the seeding time is printed with the time per new node: with {@code --mesh true} the mesh
 * config is in force before the copies, so that is what a node joining such a mesh costs the registry write). One
 * control plane per size and one for the floor, each in a fresh data directory under a temporary directory removed at the end; loopback only; the heartbeat
 * is the production default. Uses only {@link ControlPlane#registry()}, {@link NodeRegistry#entry}, {@link
 * NodeRegistry#put}, {@link NodeRegistry#addNodeChangeListener}, {@link NodeEntry} and the {@code WatchRegistry}
 * call, so it runs unchanged against another implementation of the watch service.
 *
 * <p>Arguments (all optional): {@code --nodes 1000,20000} registry sizes (each at most {@value #MAX_NODES}), {@code
 * --rates 100,1000} changes per second (each at most {@value #MAX_RATE}), {@code --duration 5} seconds of churn per
 * phase (at most {@value #MAX_DURATION_S}; fractions allowed), {@code --rounds 1} (at most {@value #MAX_ROUNDS}; the
 * JSON gives medians over rounds), {@code --mesh false} ({@code true}: a mesh config with a
 * required policy covering every node, {@link #MESH_CONFIG}, on the measured and the floor control plane alike;
 * {@code shared}: {@link #MESH_SHARED}), {@code --churn-nodes 0} (changes go to the first K nodes only; 0: all).
 * Prints a table, then one line of JSON.
 */
public final class RegistryWatchHarness {
    static final int FLOOR_NODES = 10;
    static final int MAX_NODES = 50_000;
    static final int MAX_RATE = 10_000;
    static final int MAX_DURATION_S = 120;
    static final int MAX_ROUNDS = 10;
    /** Most sizes or rates in one run. */
    static final int MAX_LIST = 8;
    /** The production default (5 s): about one heartbeat tick per 5 s phase. */
    static final Duration HEARTBEAT = RegistryWatchSettings.DEFAULT_HEARTBEAT;
    static final String REPLICA = "perf-watch";
    static final String REPLICA_SPIFFE = "spiffe://attestmesh.local/attestmesh/replica/" + REPLICA;
    static final int CORES = Runtime.getRuntime().availableProcessors();
    static final String WATCH_THREAD = "attestmesh-registry-watch";
    static final String NODE_PREFIX = "perf-";
    static final String REASON_PREFIX = "perf churn ";
    /**
     * With {@code --mesh true}: every seeded node a member of one service whose ingress requires the policy, so the
     * stream carries a mesh policy table of one principal per node (as a mesh config with required policies makes).
     */
    /**
     * With {@code --mesh shared}: every node calls one service of ten members ({@code perf-0} to {@code perf-9}, with
     * addresses), as a shared backend is called by a whole fleet; with {@code --churn-nodes 10} every change is a change
     * of one of those members, so it reaches every caller's endpoints.
     */
    static final String MESH_SHARED = """
            services:
              - name: api
                members: {nodes: [perf-0, perf-1, perf-2, perf-3, perf-4, perf-5, perf-6, perf-7, perf-8, perf-9]}
                addresses: {perf-0: 10.0.0.10, perf-1: 10.0.0.11, perf-2: 10.0.0.12, perf-3: 10.0.0.13, \
            perf-4: 10.0.0.14, perf-5: 10.0.0.15, perf-6: 10.0.0.16, perf-7: 10.0.0.17, perf-8: 10.0.0.18, \
            perf-9: 10.0.0.19}
                ingress: [{port: 8443, appPort: 8080, policies: [default]}]
              - name: all
                members: {registrations: [nodes]}
                egress: [{port: 7001, service: api, servicePort: 8443, policies: [default]}]
            """;

    static final String MESH_CONFIG = """
            services:
              - name: all
                members: {registrations: [nodes]}
                ingress: [{port: 8443, appPort: 8080, policies: [default]}]
            """;
    /** Longest warm-up churn per control plane (at the highest rate; no longer than a phase). */
    static final double WARM_UP_S = 5;
    /** How long the last changes of a phase may take to arrive before the phase is reported as incomplete. */
    static final Duration DRAIN_LIMIT = Duration.ofSeconds(30);

    private RegistryWatchHarness() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = HarnessSupport.parse(args, Set.of("nodes", "rates", "duration", "rounds", "mesh",
                "churn-nodes"));
        int[] sizes = ints(a.getOrDefault("nodes", "1000,20000"));
        int[] rates = ints(a.getOrDefault("rates", "100,1000"));
        double duration = Double.parseDouble(a.getOrDefault("duration", "5"));
        int rounds = Integer.parseInt(a.getOrDefault("rounds", "1"));
        String meshArg = a.getOrDefault("mesh", "false");
        if (!Set.of("true", "false", "shared").contains(meshArg)) {
            throw new IllegalArgumentException("--mesh takes true, false or shared");
        }
        String mesh = meshArg.equals("true") ? MESH_CONFIG : meshArg.equals("shared") ? MESH_SHARED : null;
        int churnNodes = Integer.parseInt(a.getOrDefault("churn-nodes", "0"));
        if (churnNodes < 0 || churnNodes > MAX_NODES) {
            throw new IllegalArgumentException("--churn-nodes must be in [0, " + MAX_NODES + "] (0: every node)");
        }
        if (sizes.length == 0 || sizes.length > MAX_LIST
                || Arrays.stream(sizes).anyMatch(n -> n < 1 || n > MAX_NODES)) {
            throw new IllegalArgumentException("--nodes takes 1 to " + MAX_LIST + " sizes, each in [1, " + MAX_NODES
                    + "]");
        }
        if (rates.length == 0 || rates.length > MAX_LIST || Arrays.stream(rates).anyMatch(r -> r < 1 || r > MAX_RATE)) {
            throw new IllegalArgumentException("--rates takes 1 to " + MAX_LIST + " rates, each in [1, " + MAX_RATE
                    + "]");
        }
        if (!(duration >= 0.1 && duration <= MAX_DURATION_S) || rounds < 1 || rounds > MAX_ROUNDS) {
            throw new IllegalArgumentException("--duration must be in [0.1, " + MAX_DURATION_S
                    + "] seconds and --rounds in [1, " + MAX_ROUNDS + "]");
        }
        int maxRate = Arrays.stream(rates).max().orElseThrow();
        double warmUp = Math.min(duration, WARM_UP_S);
        System.out.printf(Locale.ROOT, "registry watch harness: sizes %s, rates %s changes/s, %s s per phase, "
                + "%d round(s), heartbeat %d s, %d cores; floor: the same churn on %d nodes; warm-up %s s at %d/s per "
                + "control plane; mesh config: %s; changes to the first %s nodes%n",
                Arrays.toString(sizes), Arrays.toString(rates), HarnessSupport.fmt(duration), rounds,
                HEARTBEAT.toSeconds(), Runtime.getRuntime().availableProcessors(), FLOOR_NODES,
                HarnessSupport.fmt(warmUp), maxRate, meshArg, churnNodes == 0 ? "all" : churnNodes);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("harness", "registry-watch");
        json.put("loadAverageBefore", HarnessSupport.loadAverage());
        json.put("cores", Runtime.getRuntime().availableProcessors());
        Path dir = Files.createTempDirectory("attestmesh-registry-watch");
        try {
            try (Plane floor = Plane.start(dir.resolve("floor"), FLOOR_NODES, mesh, churnNodes)) {
                System.out.printf(Locale.ROOT, "  floor: %d nodes seeded in %.1f s; first snapshot %d nodes, "
                        + "%d bytes%n", FLOOR_NODES, floor.seedSeconds, floor.snapshotNodes, floor.snapshotBytes);
                System.out.printf(Locale.ROOT, "  warm-up, floor %d nodes @ %d/s: %s%n", FLOOR_NODES, maxRate,
                        floor.churn(maxRate, warmUp, 1).line());
                for (int n : sizes) {
                    try (Plane p = Plane.start(dir.resolve("n" + n), n, mesh, churnNodes)) {
                        System.out.printf(Locale.ROOT, "  %d nodes seeded in %.1f s (%.3f ms per new node, one thread); "
                                + "first snapshot %d nodes, %d bytes, %.0f ms after subscribing%n", n, p.seedSeconds,
                                p.seedSeconds * 1e3 / Math.max(1, n - 1), p.snapshotNodes, p.snapshotBytes,
                                p.snapshotMillis);
                        json.put("seedSecondsAt" + n, HarnessSupport.round(p.seedSeconds));
                        json.put("snapshotBytesAt" + n, p.snapshotBytes);
                        System.out.printf(Locale.ROOT, "  warm-up, %d nodes @ %d/s: %s%n", n, maxRate,
                                p.churn(maxRate, warmUp, 1).line());
                        for (int rate : rates) {
                            List<Phase> at = new ArrayList<>();
                            List<Phase> fl = new ArrayList<>();
                            for (int round = 0; round < rounds; round++) {
                                fl.add(floor.churn(rate, duration, 1000L * round + rate));
                                at.add(p.churn(rate, duration, 1000L * round + rate));
                                Phase m = at.getLast();
                                Phase f = fl.getLast();
                                System.out.printf(Locale.ROOT, "  %6d nodes @ %5d/s, round %d: %s%n", n, rate,
                                        round + 1, m.line());
                                System.out.printf(Locale.ROOT, "  %6s floor %2d nodes          : %s%n", "", FLOOR_NODES,
                                        f.line());
                                System.out.printf(Locale.ROOT, "  %6s ratio to floor: watch CPU per change %.2fx, "
                                        + "latency p50 %.2fx%n", "", m.watchUsPerChange() / f.watchUsPerChange(),
                                        m.p50Ms / f.p50Ms);
                            }
                            String k = "At" + n + "Rate" + rate;
                            double cpu = median(at, Phase::watchUsPerChange);
                            double floorCpu = median(fl, Phase::watchUsPerChange);
                            double p50 = median(at, ph -> ph.p50Ms);
                            double floorP50 = median(fl, ph -> ph.p50Ms);
                            json.put("changesPerSecond" + k, HarnessSupport.round(median(at, Phase::achievedRate)));
                            json.put("eventsPerSecond" + k, HarnessSupport.round(median(at, Phase::eventsPerSecond)));
                            json.put("meanNodesPerDelta" + k, HarnessSupport.round(median(at, Phase::nodesPerDelta)));
                            json.put("p50Ms" + k, HarnessSupport.round(p50));
                            json.put("p99Ms" + k, HarnessSupport.round(median(at, ph -> ph.p99Ms)));
                            json.put("maxMs" + k, HarnessSupport.round(median(at, ph -> ph.maxMs)));
                            json.put("fullResyncs" + k, at.stream().mapToLong(ph -> ph.fullAfterFirst).sum());
                            json.put("unacknowledged" + k, at.stream().mapToLong(ph -> ph.unacknowledged).sum());
                            json.put("watchCoreShare" + k, HarnessSupport.round(median(at, Phase::watchCores)));
                            json.put("watchUsPerChange" + k, HarnessSupport.round(cpu));
                            json.put("jvmCores" + k, HarnessSupport.round(median(at, Phase::jvmCores)));
                            json.put("jvmJitCores" + k, HarnessSupport.round(median(at, Phase::jitCores)));
                            json.put("otherProcessCores" + k,
                                    HarnessSupport.round(median(at, Phase::otherProcessCores)));
                            json.put("putMicros" + k, HarnessSupport.round(median(at, Phase::meanPutMicros)));
                            json.put("floorP50Ms" + k, HarnessSupport.round(floorP50));
                            json.put("floorWatchUsPerChange" + k, HarnessSupport.round(floorCpu));
                            json.put("floorFullResyncs" + k, fl.stream().mapToLong(ph -> ph.fullAfterFirst).sum());
                            json.put("cpuRatioToFloor" + k, HarnessSupport.round(cpu / floorCpu));
                            json.put("p50RatioToFloor" + k, HarnessSupport.round(p50 / floorP50));
                        }
                    }
                }
            }
        } finally {
            FaultMesh.delete(dir);
        }
        json.put("durationSeconds", duration);
        json.put("rounds", rounds);
        json.put("mesh", meshArg);
        json.put("churnNodes", churnNodes);
        json.put("heartbeatSeconds", HEARTBEAT.toSeconds());
        json.put("loadAverageAfter", HarnessSupport.loadAverage());
        System.out.println(HarnessSupport.toJson(json));
    }

    private static int[] ints(String csv) {
        return Arrays.stream(csv.split(",")).map(String::strip).filter(s -> !s.isEmpty()).mapToInt(Integer::parseInt)
                .toArray();
    }

    private static double median(List<Phase> phases, java.util.function.ToDoubleFunction<Phase> f) {
        double[] s = phases.stream().mapToDouble(f).sorted().toArray();
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** What one churn phase measured. */
    record Phase(long made, double churnSeconds, double windowSeconds, long deltas, long nodesInDeltas,
            long heartbeats, long fullAfterFirst, long acknowledged, long unacknowledged, double p50Ms, double p99Ms,
            double maxMs, long watchCpuNanos, long processCpuNanos, double meanPutMicros, long announced,
            double jitCores, double gcCores, double otherProcessCores) {
        double achievedRate() {
            return made / churnSeconds;
        }

        double eventsPerSecond() {
            return deltas / windowSeconds;
        }

        double nodesPerDelta() {
            return deltas == 0 ? Double.NaN : (double) nodesInDeltas / deltas;
        }

        double watchCores() {
            return watchCpuNanos / (windowSeconds * 1e9);
        }

        double watchUsPerChange() {
            return made == 0 ? Double.NaN : watchCpuNanos / 1e3 / made;
        }

        double jvmCores() {
            return processCpuNanos / (windowSeconds * 1e9);
        }

        String line() {
            return String.format(Locale.ROOT, "%6d changes (%5.0f/s), %6d deltas (%5.2f nodes each), %d full, %d hb, "
                    + "%d unacked; latency p50 %6.2f p99 %6.2f max %7.2f ms; watch thread %.3f core = %7.1f us/change; "
                    + "JVM %.2f cores (JIT %.2f, GC %.2f); other processes %.2f cores; put() %.0f us%s", made,
                    achievedRate(), deltas, nodesPerDelta(), fullAfterFirst, heartbeats, unacknowledged, p50Ms, p99Ms,
                    maxMs, watchCores(), watchUsPerChange(), jvmCores(), jitCores, gcCores, otherProcessCores,
                    meanPutMicros, announced == made ? "" : " (" + (made - announced) + " changes reached the "
                            + "watcher, in an event an earlier change set off, before the registry announced them: "
                            + "timed from before their put)");
        }
    }

    /**
     * The changes of one node not yet seen by the watcher, oldest first: its counter, the time just before {@code
     * put} and the time the registry told its listeners (0 until then).
     */
    private static final class Pending {
        private final ArrayDeque<long[]> changes = new ArrayDeque<>(2);

        synchronized void add(long counter, long beforePutNanos) {
            changes.add(new long[] {counter, beforePutNanos, 0});
        }

        /** The registry announced this node's latest change: that is when it was made. */
        synchronized boolean stamp(long now) {
            long[] last = changes.peekLast();
            if (last == null || last[2] != 0) {
                return false;
            }
            last[2] = now;
            return true;
        }

        /**
         * Removes the changes up to {@code counter} (all of them if negative), recording each one's latency from its
         * announcement (from just before its {@code put} if it was never announced).
         */
        synchronized int ack(long counter, long now, Histogram h) {
            int n = 0;
            while (!changes.isEmpty() && (counter < 0 || changes.peekFirst()[0] <= counter)) {
                long[] c = changes.pollFirst();
                h.recordValue(Math.max(0, (now - (c[2] != 0 ? c[2] : c[1])) / 1000));
                n++;
            }
            return n;
        }
    }

    /** The watcher: receives the stream, matches each node it carries to the changes made to it. */
    private static final class Watcher implements ClientResponseObserver<WatchRegistryRequest, RegistryEvent> {
        final Pending[] pending;
        final CountDownLatch firstSnapshot = new CountDownLatch(1);
        final AtomicReference<Throwable> error = new AtomicReference<>();
        final AtomicLong acknowledged = new AtomicLong();
        final AtomicLong deltas = new AtomicLong();
        final AtomicLong nodesInDeltas = new AtomicLong();
        final AtomicLong heartbeats = new AtomicLong();
        final AtomicLong fullAfterFirst = new AtomicLong();
        final AtomicLong unparsedReasons = new AtomicLong();
        final Histogram latencyMicros = new Histogram(TimeUnit.MINUTES.toMicros(10), 3);
        volatile ClientCallStreamObserver<WatchRegistryRequest> call;
        volatile int snapshotNodes;
        volatile long snapshotBytes;
        volatile long snapshotAtNanos;
        boolean gotFirst; // grpc's callback thread only

        Watcher(int nodes) {
            pending = new Pending[nodes];
            for (int i = 0; i < nodes; i++) {
                pending[i] = new Pending();
            }
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<WatchRegistryRequest> requestStream) {
            call = requestStream;
        }

        @Override
        public void onNext(RegistryEvent e) {
            long now = System.nanoTime();
            if (e.getFull() && !gotFirst) {
                gotFirst = true;
                snapshotNodes = e.getNodesCount();
                snapshotBytes = e.getSerializedSize();
                snapshotAtNanos = now;
                firstSnapshot.countDown();
                return;
            }
            if (e.getFull()) {
                fullAfterFirst.incrementAndGet(); // it carries every node, so every pending change too
            } else if (e.getHeartbeat()) {
                heartbeats.incrementAndGet();
                return;
            } else {
                deltas.incrementAndGet();
                nodesInDeltas.addAndGet(e.getNodesCount());
            }
            long acked = 0;
            synchronized (latencyMicros) {
                for (NodeRecord r : e.getNodesList()) {
                    int i = index(r.getNodeId());
                    if (i >= 0 && i < pending.length) {
                        acked += pending[i].ack(counter(r.getRevocationReason()), now, latencyMicros);
                    }
                }
            }
            acknowledged.addAndGet(acked);
        }

        private long counter(String reason) {
            if (reason.startsWith(REASON_PREFIX)) {
                try {
                    return Long.parseLong(reason.substring(REASON_PREFIX.length()).strip());
                } catch (NumberFormatException ignored) {
                    // fall through
                }
            }
            unparsedReasons.incrementAndGet();
            return -1; // unknown: take it as carrying every change made so far
        }

        @Override
        public void onError(Throwable t) {
            error.compareAndSet(null, t);
            firstSnapshot.countDown();
        }

        @Override
        public void onCompleted() {
            error.compareAndSet(null, new IllegalStateException("the control plane ended the watch"));
            firstSnapshot.countDown();
        }

        void check() {
            Throwable t = error.get();
            if (t != null) {
                throw new IllegalStateException("registry watch failed: " + t, t);
            }
        }
    }

    static int index(String nodeId) {
        if (!nodeId.startsWith(NODE_PREFIX)) {
            return -1;
        }
        try {
            return Integer.parseInt(nodeId.substring(NODE_PREFIX.length()));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** One control plane holding {@code nodes} nodes, watched by one replica identity over mutual TLS. */
    private static final class Plane implements AutoCloseable {
        private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
        private static final com.sun.management.OperatingSystemMXBean OS =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

        final int nodes;
        final Path dir;
        final List<AutoCloseable> resources = new ArrayList<>();
        ControlPlane cp;
        NodeRegistry registry;
        Watcher watcher;
        long[] watchThreadIds = new long[0];
        long[] counters;
        /** Changes go to nodes {@code perf-0 .. perf-(churnNodes - 1)}. */
        int churnNodes;
        final AtomicLong stamped = new AtomicLong();
        double seedSeconds;
        int snapshotNodes;
        long snapshotBytes;
        double snapshotMillis;

        private Plane(Path dir, int nodes) {
            this.dir = dir;
            this.nodes = nodes;
        }

        static Plane start(Path dir, int nodes, String mesh, int churnNodes) throws Exception {
            Plane p = new Plane(dir, nodes);
            p.churnNodes = churnNodes == 0 ? nodes : Math.min(churnNodes, nodes);
            try {
                p.open(mesh);
                return p;
            } catch (Exception | Error e) {
                p.close();
                throw e;
            }
        }

        private void open(String mesh) throws Exception {
            FaultMesh.writeFiles(dir);
            ControlPlaneSettings settings = ControlPlaneSettings.forTests(dir.resolve("cp"),
                    Optional.of(dir.resolve("policies.yaml"))).withRegistrationFile(Optional.of(
                            dir.resolve("registrations.yaml")));
            Set<Long> before = watchThreads();
            cp = ControlPlane.start(settings, Clock.systemUTC(), EvidenceVerifierSet.defaults(),
                    new RegistryWatchSettings(Set.of(REPLICA_SPIFFE), HEARTBEAT));
            registry = cp.registry();
            String target = "127.0.0.1:" + cp.grpcPort();
            List<java.security.cert.X509Certificate> bundle = cp.trustBundle();

            // One node attested for real; the rest are copies of its record under other ids.
            try (NodeAgent agent = FaultMesh.agent(target, bundle, dir, NODE_PREFIX + 0)) {
                agent.attestOnce();
            }
            NodeEntry seed = registry.entry(NODE_PREFIX + 0).orElseThrow(
                    () -> new IllegalStateException("the attested seed node is not in the registry"));
            if (mesh != null) { // before the copies: seeding then also measures what a new node costs with a mesh config
                cp.mesh().replace(mesh);
            }
            long t0 = System.nanoTime();
            for (int i = 1; i < nodes; i++) {
                registry.put(copy(seed, NODE_PREFIX + i));
            }
            seedSeconds = (System.nanoTime() - t0) / 1e9;
            counters = new long[nodes];

            watcher = new Watcher(nodes);
            // Node listeners run before the registry's other listeners (the watch service's among them): the moment a
            // change is announced, after its store write, is when it was made.
            registry.addNodeChangeListener(node -> node.ifPresent(id -> {
                int i = index(id);
                if (i >= 0 && i < nodes && watcher.pending[i].stamp(System.nanoTime())) {
                    stamped.incrementAndGet();
                }
            }));
            ManagedChannel channel = replicaChannel(target, bundle);
            resources.add(() -> {
                channel.shutdownNow();
                channel.awaitTermination(5, TimeUnit.SECONDS);
            });
            long subscribed = System.nanoTime();
            AttestationServiceGrpc.newStub(channel).watchRegistry(
                    WatchRegistryRequest.newBuilder().setReplicaId("perf-registry-watch").build(), watcher);
            resources.add(() -> {
                var c = watcher.call;
                if (c != null) {
                    c.cancel("harness done", null);
                }
            });
            if (!watcher.firstSnapshot.await(120, TimeUnit.SECONDS)) {
                throw new IllegalStateException("no first snapshot within 120 s");
            }
            watcher.check();
            snapshotNodes = watcher.snapshotNodes;
            snapshotBytes = watcher.snapshotBytes;
            snapshotMillis = (watcher.snapshotAtNanos - subscribed) / 1e6;
            if (snapshotNodes != nodes) {
                throw new IllegalStateException("first snapshot has " + snapshotNodes + " nodes, expected " + nodes);
            }
            Set<Long> after = watchThreads();
            after.removeAll(before);
            if (after.isEmpty()) {
                System.out.println("  (no new thread named " + WATCH_THREAD + "*: watch thread CPU reads as 0)");
            }
            watchThreadIds = after.stream().mapToLong(Long::longValue).toArray();
        }

        /** Ids of the live threads whose name starts with the watch service's thread name. */
        private static Set<Long> watchThreads() {
            Set<Long> ids = new java.util.HashSet<>();
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if (t.getName().startsWith(WATCH_THREAD)) {
                    ids.add(t.threadId());
                }
            }
            return ids;
        }

        private long watchCpu() {
            long sum = 0;
            for (long id : watchThreadIds) {
                long ns = THREADS.getThreadCpuTime(id);
                if (ns > 0) {
                    sum += ns;
                }
            }
            return sum;
        }

        /** Node {@code seed}'s record under another id, SPIFFE ID, certificate and key hash (the rest shared). */
        private static NodeEntry copy(NodeEntry seed, String nodeId) throws Exception {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(nodeId.getBytes(StandardCharsets.UTF_8));
            String hex = HexFormat.of().formatHex(h);
            return new NodeEntry(nodeId, FaultMesh.spiffeId(nodeId), seed.tee(), seed.measurement(), seed.state(),
                    seed.stateReason(), seed.claims(), seed.satisfiedPolicies(), seed.certChainPem(),
                    hex.substring(0, 32), hex, "", seed.certNotAfter(), seed.evidenceExpiresAt(), seed.attestedAt(),
                    seed.evidence(), seed.registration(), HexFormat.of().formatHex(
                            MessageDigest.getInstance("SHA-256").digest(h)), seed.kubernetes());
        }

        /** A channel presenting a new replica certificate, as {@code attestmesh ca issue-client --replica} issues. */
        private ManagedChannel replicaChannel(String target, List<java.security.cert.X509Certificate> bundle)
                throws Exception {
            FaultMesh.ReplicaCredentials issued = FaultMesh.issueReplica(cp, REPLICA);
            ChannelCredentials creds = TlsChannelCredentials.newBuilder()
                    .keyManager(pem(issued.chainPem()), pem(issued.keyPem()))
                    .trustManager(ControlPlaneTrustManager.pinning(bundle))
                    .build();
            return Grpc.newChannelBuilder(target, creds).maxInboundMessageSize(256 * 1024 * 1024).build();
        }

        private static ByteArrayInputStream pem(String text) {
            return new ByteArrayInputStream(text.getBytes(StandardCharsets.US_ASCII));
        }

        /**
         * Changes random nodes at {@code rate} per second for {@code seconds}, evenly paced, then waits (bounded) until
         * the watcher has seen every change.
         */
        Phase churn(int rate, double seconds, long seed) throws InterruptedException {
            watcher.check();
            long total = Math.max(1, Math.round(rate * seconds));
            long period = Math.round(1e9 / rate);
            SplittableRandom random = new SplittableRandom(seed);
            synchronized (watcher.latencyMicros) {
                watcher.latencyMicros.reset();
            }
            long ack0 = watcher.acknowledged.get();
            long deltas0 = watcher.deltas.get();
            long nodes0 = watcher.nodesInDeltas.get();
            long hb0 = watcher.heartbeats.get();
            long full0 = watcher.fullAfterFirst.get();
            long cpu0 = watchCpu();
            long stamped0 = stamped.get();
            long pid = ProcessHandle.current().pid();
            Optional<ThreadCpu.Reading> split0 = ThreadCpu.read(pid, pid);
            long proc0 = OS.getProcessCpuTime();
            long t0 = System.nanoTime();
            long giveUp = t0 + Math.round(seconds * 2e9) + TimeUnit.SECONDS.toNanos(5);
            long next = t0;
            long made = 0;
            long putNanos = 0;
            for (; made < total; made++) {
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    LockSupport.parkNanos(wait);
                } else if (-wait > 5 * period) {
                    next = System.nanoTime(); // fell behind (a pause): go on from now rather than catch up in a burst
                }
                next += period;
                if (System.nanoTime() > giveUp) {
                    break;
                }
                int i = random.nextInt(churnNodes);
                String id = NODE_PREFIX + i;
                NodeEntry current = registry.entry(id).orElseThrow(() -> new IllegalStateException(id + " vanished"));
                long k = ++counters[i];
                NodeEntry changed = current.withState(k % 2 == 1 ? NodeState.EXPIRED : NodeState.ATTESTED,
                        REASON_PREFIX + k);
                long at = System.nanoTime();
                watcher.pending[i].add(k, at);
                registry.put(changed);
                putNanos += System.nanoTime() - at;
            }
            long churnEnd = System.nanoTime();
            long drainLimit = churnEnd + DRAIN_LIMIT.toNanos();
            while (watcher.acknowledged.get() - ack0 < made && System.nanoTime() < drainLimit
                    && watcher.error.get() == null) {
                Thread.sleep(1);
            }
            long t1 = System.nanoTime();
            long cpu1 = watchCpu();
            long proc1 = OS.getProcessCpuTime();
            Optional<ThreadCpu.Reading> split1 = ThreadCpu.read(pid, pid);
            Optional<ThreadCpu.Split> split = split0.isPresent() && split1.isPresent()
                    ? Optional.of(ThreadCpu.between(split0.get(), split1.get())) : Optional.empty();
            watcher.check();
            long acked = watcher.acknowledged.get() - ack0;
            double p50;
            double p99;
            double max;
            synchronized (watcher.latencyMicros) {
                Histogram h = watcher.latencyMicros;
                p50 = h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(50) / 1000.0;
                p99 = h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(99) / 1000.0;
                max = h.getTotalCount() == 0 ? Double.NaN : h.getMaxValue() / 1000.0;
            }
            if (watcher.unparsedReasons.get() > 0) {
                System.out.println("  (" + watcher.unparsedReasons.get() + " records without the churn reason: "
                        + "matched to every pending change of their node)");
            }
            return new Phase(made, (churnEnd - t0) / 1e9, (t1 - t0) / 1e9, watcher.deltas.get() - deltas0,
                    watcher.nodesInDeltas.get() - nodes0, watcher.heartbeats.get() - hb0,
                    watcher.fullAfterFirst.get() - full0, acked, made - acked, p50, p99, max, cpu1 - cpu0,
                    proc1 - proc0, made == 0 ? 0 : putNanos / 1e3 / made, stamped.get() - stamped0,
                    split.map(x -> x.serverJit() * CORES).orElse(Double.NaN),
                    split.map(x -> x.serverGc() * CORES).orElse(Double.NaN),
                    split.map(x -> Math.max(0, 1 - x.idle() - x.serverWork() - x.serverJit() - x.serverGc()) * CORES)
                            .orElse(Double.NaN));
        }

        @Override
        public void close() {
            for (AutoCloseable c : resources.reversed()) {
                try {
                    c.close();
                } catch (Exception e) {
                    System.err.println("registry watch harness: closing: " + e);
                }
            }
            if (cp != null) {
                cp.close();
            }
        }
    }
}
