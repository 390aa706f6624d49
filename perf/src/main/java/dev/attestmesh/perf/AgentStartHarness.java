package dev.attestmesh.perf;

import static dev.attestmesh.perf.HarnessSupport.loadAverage;

import dev.attestmesh.agent.ControlPlaneChannels;
import dev.attestmesh.agent.CredentialFiles;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.perf.faults.FaultMesh;
import dev.attestmesh.perf.sim.SimNodeAttester;
import io.grpc.ManagedChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The node agent's start-up to its first certificate ({@code perf/run agent-start}): what a pod waits for before its
 * workload may talk. The control plane ({@code attestmesh server --dev}, its own process, warmed first by simulated
 * nodes from this JVM) answers; each measured start launches {@code java -jar node-agent/target/attestmesh-agent.jar
 * --tee sim --once --no-sds} as its own process, as the agent image does, and times it from launch to exit (0, the
 * key, certificate chain and CA bundle written). The floor, measured in the same round with the same JVM flags: the
 * same jar's {@code --version} (the JVM's own start and the command line parsed, no attestation).
 *
 * <p>Modes alternate within each round: {@code plain} (no cache) and {@code aot}, the JDK's ahead-of-time cache
 * (JEP 483/514/515) trained by one agent run of the same command ({@code -XX:AOTCacheOutput=}, written when that JVM
 * exits) and used with {@code -XX:AOTMode=on -XX:AOTCache=} (a cache the JVM cannot use stops the start rather than
 * being quietly ignored).
 *
 * <p>Arguments (all optional): {@code --rounds 5}, {@code --modes plain,aot}, {@code --agent-jar
 * node-agent/target/attestmesh-agent.jar}, {@code --server-jar xds-server/target/attestmesh.jar}, {@code --warm-seconds
 * 10} (the control plane's warm-up load), {@code --agent-jvm "FLAGS"} (extra flags for every measured agent, split on
 * spaces). Every agent run is bounded to 60 s, the warm-up load by time and count.
 */
public final class AgentStartHarness {
    private static final List<String> AGENT_FLAGS = List.of("-Xmx256m", "-XX:+ExitOnOutOfMemoryError",
            "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow");

    /** One measured agent start and its floor. */
    record Start(String mode, int round, double toCertificateSeconds, double floorSeconds) {}

    private AgentStartHarness() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = HarnessSupport.parse(args, java.util.Set.of("rounds", "modes", "agent-jar", "server-jar",
                "warm-seconds", "agent-jvm"));
        int rounds = Integer.parseInt(a.getOrDefault("rounds", "5"));
        List<String> modes = List.of(a.getOrDefault("modes", "plain,aot").split(","));
        Path agentJar = Path.of(a.getOrDefault("agent-jar", "node-agent/target/attestmesh-agent.jar"));
        Path serverJar = Path.of(a.getOrDefault("server-jar", "xds-server/target/attestmesh.jar"));
        int warmSeconds = Integer.parseInt(a.getOrDefault("warm-seconds", "10"));
        List<String> agentJvm = a.containsKey("agent-jvm") ? List.of(a.get("agent-jvm").trim().split("\\s+")) : List.of();
        ColdStartHarness.checkModes(modes);
        for (Path jar : List.of(agentJar, serverJar)) {
            ColdStartHarness.requireBuilt(jar, "./mvnw -B package -DskipTests");
        }
        Path dir = Files.createTempDirectory("attestmesh-agent-start");
        FaultMesh.writeFiles(dir);
        System.out.printf(Locale.ROOT, "agent start: %s against %s, modes %s, %d round(s), %d CPUs, load average "
                + "before: %s; work dir %s%n", agentJar, serverJar, modes, rounds,
                Runtime.getRuntime().availableProcessors(), loadAverage(), dir);
        ColdStartHarness.Server server = ColdStartHarness.launch(serverJar, dir, "server", "1g", List.of());
        List<Start> starts = new ArrayList<>();
        long cacheBytes = 0;
        double trainingSeconds = 0;
        try {
            ColdStartHarness.awaitHealthy(server.process(), server.adminPort(), server.log(), Duration.ofSeconds(120));
            Path bundle = server.data().resolve("ca-bundle.pem");
            String target = "127.0.0.1:" + server.grpcPort();
            int warmed = warm(target, bundle, warmSeconds);
            System.out.printf(Locale.ROOT, "control plane warmed: %d simulated attestations in %d s%n", warmed,
                    warmSeconds);
            Path aot = dir.resolve("agent.aot");
            if (modes.contains("aot")) {
                long t = System.nanoTime();
                runAgent(agentJar, dir, "training", List.of("-XX:AOTCacheOutput=" + aot), target, bundle, false);
                trainingSeconds = (System.nanoTime() - t) / 1e9;
                if (!Files.isRegularFile(aot)) {
                    throw new IllegalStateException("the training run wrote no AOT cache at " + aot);
                }
                cacheBytes = Files.size(aot);
            }
            for (int round = 1; round <= rounds; round++) {
                for (String mode : modes) {
                    List<String> flags = new ArrayList<>(mode.equals("aot")
                            ? List.of("-XX:AOTMode=on", "-XX:AOTCache=" + aot) : List.of());
                    flags.addAll(agentJvm);
                    String name = mode + "-" + round;
                    double floor = runAgent(agentJar, dir, name + "-version", flags, target, bundle, true);
                    double cert = runAgent(agentJar, dir, name, flags, target, bundle, false);
                    starts.add(new Start(mode, round, cert, floor));
                    System.out.printf(Locale.ROOT, "  round %d %-5s: first certificate %.3f s, --version %.3f s%n",
                            round, mode, cert, floor);
                }
            }
        } finally {
            server.process().destroy();
            if (!server.process().waitFor(30, TimeUnit.SECONDS)) {
                server.process().destroyForcibly();
            }
            FaultMesh.delete(dir);
        }
        print(starts, modes, trainingSeconds, cacheBytes);
    }

    /** Simulated nodes attest from this JVM for {@code seconds} on 4 threads, so agents meet a warm control plane. */
    private static int warm(String target, Path bundle, int seconds) throws Exception {
        var caBundle = Pem.parseCertificates(Files.readString(bundle, StandardCharsets.US_ASCII));
        ManagedChannel ch = ControlPlaneChannels.open(target, caBundle, Optional.empty());
        AtomicInteger done = new AtomicInteger();
        AtomicInteger failures = new AtomicInteger();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        try {
            List<Thread> threads = new ArrayList<>();
            for (int c = 0; c < 4; c++) {
                int client = c;
                threads.add(Thread.ofPlatform().start(() -> {
                    SimNodeAttester attester = new SimNodeAttester(ch);
                    for (int n = 0; n < 100_000 && System.nanoTime() < deadline; n++) {
                        try {
                            attester.attest("warm-" + client + "-" + n);
                            done.incrementAndGet();
                        } catch (Exception e) {
                            if (failures.incrementAndGet() <= 3) {
                                System.err.println("warm-up attestation failed: " + e);
                            }
                        }
                    }
                }));
            }
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(seconds + 60L));
            }
        } finally {
            ch.shutdownNow();
        }
        if (done.get() == 0) {
            throw new IllegalStateException("the control plane attested nothing while warming up");
        }
        return done.get();
    }

    /**
     * Runs the agent jar once ({@code --version} when {@code versionOnly}, else one attestation with {@code --once})
     * and returns its wall time in seconds; fails unless it exits 0 and, for an attestation, wrote its files.
     */
    private static double runAgent(Path jar, Path dir, String name, List<String> flags, String target, Path bundle,
            boolean versionOnly) throws Exception {
        Path out = dir.resolve("agent-" + name);
        Path log = dir.resolve("agent-" + name + ".log");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(AGENT_FLAGS);
        cmd.addAll(flags);
        cmd.addAll(List.of("-jar", jar.toString()));
        if (versionOnly) {
            cmd.add("--version");
        } else {
            cmd.addAll(List.of("--control-plane", target, "--ca-bundle", bundle.toString(), "--node-id",
                    "agent-" + name, "--tee", "sim", "--sim-measurement", FaultMesh.MEASUREMENT, "--output",
                    out.toString(), "--once", "--no-sds"));
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("ATTESTMESH_") || k.equals("JAVA_TOOL_OPTIONS"));
        long t0 = System.nanoTime();
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("agent " + name + " did not finish within 60 s; log " + log);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (p.exitValue() != 0) {
            throw new IllegalStateException("agent " + name + " exited " + p.exitValue() + ":\n"
                    + Files.readString(log, StandardCharsets.UTF_8));
        }
        if (!versionOnly) {
            for (String file : List.of(CredentialFiles.KEY, CredentialFiles.CERT_CHAIN, CredentialFiles.CA_BUNDLE)) {
                if (!Files.isRegularFile(out.resolve(file))) {
                    throw new IllegalStateException("agent " + name + " exited 0 without writing " + file + "; log "
                            + log);
                }
            }
        }
        return seconds;
    }

    private static void print(List<Start> starts, List<String> modes, double trainingSeconds, long cacheBytes) {
        System.out.println();
        System.out.printf(Locale.ROOT, "%-52s %36s%n", "measure (median, min-max over rounds)", "value");
        StringBuilder json = new StringBuilder("{\"harness\":\"agent-start\"");
        for (String mode : modes) {
            List<Start> of = starts.stream().filter(s -> s.mode().equals(mode)).toList();
            double[] cert = of.stream().mapToDouble(Start::toCertificateSeconds).toArray();
            double[] floor = of.stream().mapToDouble(Start::floorSeconds).toArray();
            double[] ratio = of.stream().mapToDouble(s -> s.toCertificateSeconds() / s.floorSeconds()).toArray();
            System.out.printf(Locale.ROOT, "%-52s %36s%n", mode + ": agent start to first certificate, s",
                    ColdStartHarness.spread(cert, "%.3f"));
            System.out.printf(Locale.ROOT, "%-52s %36s%n", mode + ": floor: the same JVM's --version, s",
                    ColdStartHarness.spread(floor, "%.3f"));
            System.out.printf(Locale.ROOT, "%-52s %36s%n", mode + ": ratio to the floor", ColdStartHarness.spread(ratio, "%.2f"));
            json.append(String.format(Locale.ROOT, ",\"%s\":{\"toFirstCertSeconds\":%.3f,\"floorSeconds\":%.3f,"
                    + "\"ratioToFloor\":%.2f,\"starts\":%d,\"all\":%s}", mode, ColdStartHarness.median(cert), ColdStartHarness.median(floor),
                    ColdStartHarness.median(ratio), of.size(), Arrays.toString(cert)));
        }
        ColdStartHarness.printTraining("training run (one agent, incl. writing the cache), s", trainingSeconds,
                cacheBytes, json);
    }
}
