package dev.attestmesh.perf.faults;

import dev.attestmesh.agent.AttestationRefusedException;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.ControlPlaneSettings;
import dev.attestmesh.server.EvidenceVerifierSet;
import dev.attestmesh.server.demo.DemoAuthzClient;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;

/**
 * A soak of attest + renew + Check against a control plane in this JVM (embedded store): {@code nodes} agents attest,
 * then two threads renew them in turn over mTLS (each renewal a full attestation: Challenge, fresh evidence, Attest,
 * issuance log entry, record) while one thread asks the embedded ext_authz a Check every millisecond, for {@code
 * seconds}. Every {@code sampleSeconds} the JVM's used heap after a full GC, its open file descriptors and its threads
 * are sampled. After the first fifth of the run (warm-up: JIT, caches filling) none may grow by more than the bounds:
 * {@value #HEAP_GROWTH_MIB} MiB of heap, {@value #FD_GROWTH} descriptors, {@value #THREAD_GROWTH} threads. Every
 * renewal and every Check must succeed. Client and control plane share the JVM, so the figures cover both.
 */
public final class SoakScenario {
    static final long HEAP_GROWTH_MIB = 64;
    static final long FD_GROWTH = 16;
    static final long THREAD_GROWTH = 8;

    /** Length, sampling period and node count. */
    public record Settings(int seconds, int sampleSeconds, int nodes) {
        public Settings {
            if (seconds < 1 || sampleSeconds < 1 || nodes < 2) {
                throw new IllegalArgumentException("a soak needs seconds >= 1, sampleSeconds >= 1 and nodes >= 2");
            }
        }

        public static Settings defaults() {
            return new Settings(600, 10, 20);
        }
    }

    /** One sample: seconds into the run, used heap after GC (MiB), open descriptors, live threads. */
    record Sample(long second, long heapMib, long fds, long threads) {}

    private SoakScenario() {}

    public static ScenarioResult run(Settings s) throws Exception {
        Path dir = Files.createTempDirectory("attestmesh-faults-soak");
        Map<String, Object> f = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        try {
            FaultMesh.writeFiles(dir);
            ControlPlaneSettings settings = ControlPlaneSettings.forTests(dir.resolve("cp"),
                    Optional.of(dir.resolve("policies.yaml"))).withRegistrationFile(Optional.of(dir.resolve(
                    "registrations.yaml")));
            try (ControlPlane cp = ControlPlane.start(settings, Clock.systemUTC(), EvidenceVerifierSet.defaults())) {
                String target = "127.0.0.1:" + cp.grpcPort();
                NodeAgent asker = FaultMesh.agent(target, cp.trustBundle(), dir, "soak-asker");
                NodeAgent peer = FaultMesh.agent(target, cp.trustBundle(), dir, "soak-peer");
                asker.attestOnce();
                peer.attestOnce();
                List<NodeAgent> nodes = new ArrayList<>();
                for (int i = 1; i <= s.nodes(); i++) {
                    NodeAgent a = FaultMesh.agent(target, cp.trustBundle(), dir, "soak-" + i);
                    a.attestOnce();
                    nodes.add(a);
                }
                LongAdder renewed = new LongAdder();
                LongAdder renewFailed = new LongAdder();
                AtomicReference<String> firstRenewFailure = new AtomicReference<>("");
                AtomicBoolean stop = new AtomicBoolean();
                List<Thread> renewers = new ArrayList<>();
                for (int t = 0; t < 2; t++) {
                    int offset = t;
                    renewers.add(Thread.ofPlatform().daemon().name("soak-renew-" + t).start(() -> {
                        // Each thread renews its own half of the nodes, so a node never renews twice at once.
                        int i = offset;
                        while (!stop.get()) {
                            try {
                                nodes.get(i).attestOnce();
                                renewed.increment();
                            } catch (AttestationRefusedException | RuntimeException e) {
                                renewFailed.increment();
                                firstRenewFailure.compareAndSet("", e.getMessage());
                            }
                            i = i + 2 < nodes.size() ? i + 2 : offset;
                        }
                    }));
                }
                List<Sample> samples = new ArrayList<>();
                try (DemoAuthzClient authz = new DemoAuthzClient(target, asker)) {
                    CheckLoop checks = new CheckLoop(() -> {
                        DemoAuthzClient.Result r = authz.check(peer.credentials().orElseThrow().leaf(),
                                FaultMesh.spiffeId("soak-asker"), List.of(FaultMesh.POLICY));
                        return new CheckLoop.Answer(r.allowed(), r.allowed() ? "" : r.detail());
                    }, 1, false);
                    long t0 = System.nanoTime();
                    long end = t0 + TimeUnit.SECONDS.toNanos(s.seconds());
                    samples.add(sample(0));
                    while (System.nanoTime() < end) {
                        Thread.sleep(Math.min(TimeUnit.SECONDS.toMillis(s.sampleSeconds()),
                                Math.max(1, TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime()))));
                        samples.add(sample(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0)));
                    }
                    stop.set(true);
                    for (Thread t : renewers) {
                        t.join(TimeUnit.SECONDS.toMillis(60));
                    }
                    checks.stop();
                    f.put("seconds", s.seconds());
                    f.put("nodes", s.nodes());
                    f.put("renewals", renewed.sum());
                    f.put("renewalsPerSecond", Math.round(renewed.sum() / (double) s.seconds()));
                    f.put("renewalsFailed", renewFailed.sum());
                    f.put("checks", checks.allowed() + checks.denied());
                    f.put("checksPerSecond", Math.round((checks.allowed() + checks.denied()) / (double) s.seconds()));
                    f.put("checksDenied", checks.denied());
                    if (renewFailed.sum() > 0) {
                        problems.add(renewFailed.sum() + " renewals failed, the first: " + firstRenewFailure.get());
                    }
                    if (checks.denied() > 0) {
                        problems.add(checks.denied() + " Checks were denied, the first: " + checks.firstDenial());
                    }
                    if (renewed.sum() == 0 || checks.allowed() == 0) {
                        problems.add("the soak made no progress: " + renewed.sum() + " renewals, " + checks.allowed()
                                + " Checks allowed");
                    }
                }
                stability(samples, f, problems);
                f.put("issuanceLogEntries", cp.issuanceLog().head().map(e -> e.sequence()).orElse(0L));
            }
            return new ScenarioResult("soak", f, problems);
        } finally {
            FaultMesh.delete(dir);
        }
    }

    private static void stability(List<Sample> samples, Map<String, Object> f, List<String> problems) {
        int warm = Math.max(1, samples.size() / 5);
        Sample base = samples.get(Math.min(warm, samples.size() - 1));
        List<Sample> after = samples.subList(Math.min(warm, samples.size() - 1), samples.size());
        long heapMax = after.stream().mapToLong(Sample::heapMib).max().orElse(base.heapMib());
        long fdMax = after.stream().mapToLong(Sample::fds).max().orElse(base.fds());
        long threadMax = after.stream().mapToLong(Sample::threads).max().orElse(base.threads());
        Sample last = samples.getLast();
        f.put("samples", samples.size());
        f.put("heapMiBStartWarmLastMax", samples.getFirst().heapMib() + " / " + base.heapMib() + " / " + last.heapMib()
                + " / " + heapMax);
        f.put("fdsStartWarmLastMax", samples.getFirst().fds() + " / " + base.fds() + " / " + last.fds() + " / " + fdMax);
        f.put("threadsStartWarmLastMax", samples.getFirst().threads() + " / " + base.threads() + " / " + last.threads()
                + " / " + threadMax);
        f.put("heapGrowthAfterWarmUpMiB", heapMax - base.heapMib());
        f.put("fdGrowthAfterWarmUp", fdMax - base.fds());
        f.put("threadGrowthAfterWarmUp", threadMax - base.threads());
        if (heapMax - base.heapMib() > HEAP_GROWTH_MIB) {
            problems.add("heap after GC grew by " + (heapMax - base.heapMib()) + " MiB after the warm-up (bound "
                    + HEAP_GROWTH_MIB + ")");
        }
        if (fdMax - base.fds() > FD_GROWTH) {
            problems.add("open file descriptors grew by " + (fdMax - base.fds()) + " after the warm-up (bound "
                    + FD_GROWTH + ")");
        }
        if (threadMax - base.threads() > THREAD_GROWTH) {
            problems.add("threads grew by " + (threadMax - base.threads()) + " after the warm-up (bound "
                    + THREAD_GROWTH + ")");
        }
    }

    private static Sample sample(long second) {
        System.gc();
        long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / (1024 * 1024);
        return new Sample(second, heap, openFds(), ManagementFactory.getThreadMXBean().getThreadCount());
    }

    private static long openFds() {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        } catch (IOException e) {
            return -1;
        }
    }
}
