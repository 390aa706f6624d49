package dev.attestmesh.perf;

import static dev.attestmesh.perf.HarnessSupport.loadAverage;

import dev.attestmesh.agent.ControlPlaneChannels;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.perf.faults.FaultMesh;
import dev.attestmesh.perf.sim.SimNodeAttester;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Attestation in a cold JVM ({@code perf/run cold-start}): the control plane ({@code attestmesh server --dev}, started
 * as {@code ./attestmesh} and the images start it: {@code java -jar xds-server/target/attestmesh.jar} with the images'
 * flags, its own JVM, a new data directory each time) is started, and simulated nodes attest to it from this JVM (warm:
 * it drove the training run first) on {@code --clients} threads as soon as {@code /health} answers. Measured per start:
 * start-up to the first certificate (from launching the JVM to the first Attest answered), attestations per second in
 * the first and the second 10 s after that first certificate.
 *
 * <p>Modes: {@code plain} (no AOT cache) and {@code aot}: the JDK's ahead-of-time cache (JEP 483, 514, 515: classes
 * loaded and linked, and method profiles, from a training run), built here by a training run of the same server under
 * the same load ({@code -XX:AOTCacheOutput=}; the JVM writes the cache when it exits) and used with {@code
 * -XX:AOTCache=} and {@code -XX:AOTMode=on}. The cache is valid only for the same JDK build and the same class path
 * (the jars, unchanged); {@code AOTMode=on} makes the JVM refuse to start without it rather than run without it.
 *
 * <p>Before the measured starts: the training run (which also warms this JVM, the load generator) and one short start
 * that is not measured (the generator's JIT recompiles its gRPC client code at the first start after the training).
 * Per start and window, where the machine's CPU went ({@link ThreadCpu}, from {@code /proc}): the server's work, its
 * JIT and its collector, the generator's work and its JIT, and idle time, as shares of all cores.
 *
 * <p>Arguments (all optional): {@code --rounds N} (3; modes alternate within a round), {@code --modes plain,aot},
 * {@code --clients 8}, {@code --window 10} seconds, {@code --training-seconds 30}, {@code --aot-cache PATH} (reuse a
 * cache instead of training; one that does not exist is trained there and kept), {@code --server-jar
 * xds-server/target/attestmesh.jar}, {@code --heap 1g}, {@code --server-jvm "FLAGS"} (extra JVM flags for every
 * measured start, e.g. a flight recording; split on spaces, {@code {start}} replaced by the start's name, e.g.
 * {@code plain-1}), {@code --warm-at S} (0: off; else the load goes on and the rate in the window starting S seconds
 * after the first certificate is reported as the same start's warm rate, the floor the first window is compared
 * with). Every load loop is bounded by time and by {@code --max-attestations} (200,000) per start.
 */
public final class ColdStartHarness {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private static final List<String> IMAGE_FLAGS = List.of("-XX:+ExitOnOutOfMemoryError",
            "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow");

    /** One start measured. */
    record Start(String mode, int round, double toHealthySeconds, double toFirstCertSeconds, double firstWindowRate,
            double secondWindowRate, double warmRate, int failures, Optional<ThreadCpu.Split> firstCpu,
            Optional<ThreadCpu.Split> warmCpu) {}

    private ColdStartHarness() {}

    /** Refuses to go on when {@code jar} has not been built, naming {@code buildCommand}. */
    static void requireBuilt(Path jar, String buildCommand) {
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: build it with " + buildCommand + " (perf/run does)");
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = HarnessSupport.parse(args, java.util.Set.of("rounds", "modes", "clients", "window",
                "training-seconds", "warm-at", "aot-cache", "server-jar", "heap", "max-attestations", "server-jvm"));
        int rounds = Integer.parseInt(a.getOrDefault("rounds", "3"));
        List<String> modes = List.of(a.getOrDefault("modes", "plain,aot").split(","));
        int clients = Integer.parseInt(a.getOrDefault("clients", "8"));
        int window = Integer.parseInt(a.getOrDefault("window", "10"));
        int training = Integer.parseInt(a.getOrDefault("training-seconds", "30"));
        int warmAt = Integer.parseInt(a.getOrDefault("warm-at", "0"));
        int maxAttestations = Integer.parseInt(a.getOrDefault("max-attestations", "200000"));
        Optional<Path> cache = Optional.ofNullable(a.get("aot-cache")).map(Path::of);
        Path jar = Path.of(a.getOrDefault("server-jar", "xds-server/target/attestmesh.jar"));
        String heap = a.getOrDefault("heap", "1g");
        List<String> serverJvm = a.containsKey("server-jvm") ? List.of(a.get("server-jvm").trim().split("\\s+")) : List.of();
        checkModes(modes);
        requireBuilt(jar, "./mvnw -B -pl xds-server -am package -DskipTests");
        Path dir = Files.createTempDirectory("attestmesh-cold-start");
        FaultMesh.writeFiles(dir);
        System.out.printf(Locale.ROOT, "cold start: %s, modes %s, %d round(s), %d clients, %d s windows, %d CPUs, load "
                + "average before: %s; work dir %s%n", jar, modes, rounds, clients, window,
                Runtime.getRuntime().availableProcessors(), loadAverage(), dir);
        List<Start> starts = new ArrayList<>();
        double trainingSeconds = 0;
        long cacheBytes = 0;
        try {
            // The training run: it also warms this JVM (the clients), so every measured start meets warm clients.
            Path aot = cache.orElse(dir.resolve("control-plane.aot"));
            // A named cache that does not exist yet is trained and kept there (to compare flags on one cache)
            List<String> trainingFlags = modes.contains("aot") && !Files.isRegularFile(aot)
                    ? List.of("-XX:AOTCacheOutput=" + aot) : List.of();
            long t = System.nanoTime();
            run(jar, dir, "training", 0, heap, trainingFlags, clients, Math.max(1, training / 2), 0, maxAttestations,
                    Duration.ofMinutes(5));
            trainingSeconds = (System.nanoTime() - t) / 1e9;
            if (modes.contains("aot")) {
                if (!Files.isRegularFile(aot)) {
                    throw new IllegalStateException("the training run wrote no AOT cache at " + aot
                            + "; see " + dir.resolve("training-0.log"));
                }
                cacheBytes = Files.size(aot);
            }
            // One more short start, not measured, before the measured ones: the first start after the training
            // made this JVM's JIT recompile the gRPC client code it had compiled against the training server (about
            // 170 deoptimizations, mostly class checks of gRPC's stream listeners, then C2 again), which took some
            // 15% of the machine from the first measured start's first window; the starts after it saw about 1%.
            // The CPU split printed per start shows what the generator's JIT still takes.
            run(jar, dir, "generator-warm-up", 0, heap, List.of(), clients, 10, 0, maxAttestations, Duration.ofSeconds(30));
            for (int round = 1; round <= rounds; round++) {
                for (String mode : modes) {
                    // AOTMode=on: a cache the JVM cannot use (other JDK build, changed jars) stops the start instead
                    // of silently measuring a run without it
                    List<String> flags = new ArrayList<>(mode.equals("aot")
                            ? List.of("-XX:AOTMode=on", "-XX:AOTCache=" + aot) : List.of());
                    String startName = mode + "-" + round;
                    flags.addAll(serverJvm.stream().map(f -> f.replace("{start}", startName)).toList());
                    starts.add(run(jar, dir, mode, round, heap, flags, clients, window, warmAt, maxAttestations,
                            Duration.ofSeconds(30)));
                    Start s = starts.getLast();
                    System.out.printf(Locale.ROOT, "  round %d %-5s: healthy %.2f s, first certificate %.2f s, first %d s"
                            + " %.0f /s, next %d s %.0f /s, failures %d%s%n", round, mode, s.toHealthySeconds(),
                            s.toFirstCertSeconds(), window, s.firstWindowRate(), window, s.secondWindowRate(),
                            s.failures(), warmAt > 0 ? String.format(Locale.ROOT, ", warm (%d-%d s) %.0f /s", warmAt,
                                    warmAt + window, s.warmRate()) : "");
                    s.firstCpu().ifPresent(c -> System.out.printf(Locale.ROOT, "    CPU, first %d s: %s%n", window,
                            c.describe()));
                    s.warmCpu().ifPresent(c -> System.out.printf(Locale.ROOT, "    CPU, warm window: %s%n", c.describe()));
                }
            }
        } finally {
            FaultMesh.delete(dir);
        }
        print(starts, modes, window, warmAt, trainingSeconds, cacheBytes);
    }

    private static void print(List<Start> starts, List<String> modes, int window, int warmAt, double trainingSeconds,
            long cacheBytes) {
        System.out.println();
        System.out.printf(Locale.ROOT, "%-52s %36s%n", "measure (median, min-max over rounds)", "value");
        StringBuilder json = new StringBuilder("{\"harness\":\"cold-start\",\"windowSeconds\":" + window);
        for (String mode : modes) {
            List<Start> of = starts.stream().filter(s -> s.mode().equals(mode)).toList();
            double[] first = of.stream().mapToDouble(Start::firstWindowRate).toArray();
            double[] second = of.stream().mapToDouble(Start::secondWindowRate).toArray();
            double[] cert = of.stream().mapToDouble(Start::toFirstCertSeconds).toArray();
            double[] healthy = of.stream().mapToDouble(Start::toHealthySeconds).toArray();
            System.out.printf(Locale.ROOT, "%-52s %36s%n", mode + ": attestations /s, first " + window + " s", spread(first, "%.0f"));
            System.out.printf(Locale.ROOT, "%-52s %36s%n", mode + ": attestations /s, next " + window + " s", spread(second, "%.0f"));
            double[] warm = of.stream().mapToDouble(Start::warmRate).toArray();
            double[] coldToWarm = of.stream().mapToDouble(s -> s.firstWindowRate() / s.warmRate()).toArray();
            if (warmAt > 0) { // the floor of the first window: the same process's rate once warm
                System.out.printf(Locale.ROOT, "%-52s %36s%n", mode + ": attestations /s, warm (" + warmAt + "-"
                        + (warmAt + window) + " s)", spread(warm, "%.0f"));
                System.out.printf(Locale.ROOT, "%-52s %36s%n", mode + ": first " + window + " s / warm, same start",
                        spread(coldToWarm, "%.2f"));
            }
            cpuRows(mode + ": CPU share, first " + window + " s", of.stream().map(Start::firstCpu).toList(), json,
                    mode + "FirstWindowCpu");
            if (warmAt > 0) {
                cpuRows(mode + ": CPU share, warm", of.stream().map(Start::warmCpu).toList(), json, mode + "WarmCpu");
            }
            System.out.printf(Locale.ROOT, "%-52s %36s%n", mode + ": start-up to /health, s", spread(healthy, "%.2f"));
            System.out.printf(Locale.ROOT, "%-52s %36s%n", mode + ": start-up to first certificate, s", spread(cert, "%.2f"));
            json.append(String.format(Locale.ROOT, ",\"%s\":{\"firstWindowPerSecond\":%.0f,\"secondWindowPerSecond\":%.0f,"
                    + "\"toFirstCertSeconds\":%.2f,\"toHealthySeconds\":%.2f,\"starts\":%d,\"failures\":%d,"
                    + "\"firstWindowAll\":%s}", mode, median(first), median(second), median(cert),
                    median(healthy), of.size(), of.stream().mapToInt(Start::failures).sum(),
                    Arrays.toString(first)));
            if (warmAt > 0) {
                json.append(String.format(Locale.ROOT, ",\"%sWarm\":{\"warmAtSeconds\":%d,\"warmPerSecond\":%.0f,"
                        + "\"firstWindowToWarm\":%.2f}", mode, warmAt, median(warm), median(coldToWarm)));
            }
        }
        printTraining("training run (incl. writing the cache), s", trainingSeconds, cacheBytes, json);
    }

    /** Rows of the CPU split (medians over the starts that have one) and its JSON member; nothing without /proc. */
    private static void cpuRows(String label, List<Optional<ThreadCpu.Split>> splits, StringBuilder json, String key) {
        List<ThreadCpu.Split> have = splits.stream().flatMap(Optional::stream).toList();
        if (have.isEmpty()) {
            return;
        }
        double[] parts = {
            median(have.stream().mapToDouble(ThreadCpu.Split::serverWork).toArray()),
            median(have.stream().mapToDouble(ThreadCpu.Split::serverJit).toArray()),
            median(have.stream().mapToDouble(ThreadCpu.Split::serverGc).toArray()),
            median(have.stream().mapToDouble(ThreadCpu.Split::generatorWork).toArray()),
            median(have.stream().mapToDouble(ThreadCpu.Split::generatorJit).toArray()),
            median(have.stream().mapToDouble(ThreadCpu.Split::idle).toArray())};
        ThreadCpu.Split m = new ThreadCpu.Split(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]);
        System.out.printf(Locale.ROOT, "%-52s %36s%n", label + " (medians, " + have.size() + ")", "");
        System.out.printf(Locale.ROOT, "    %s%n", m.describe());
        json.append(String.format(Locale.ROOT, ",\"%s\":{\"serverWork\":%.3f,\"serverJit\":%.3f,\"serverGc\":%.3f,"
                + "\"generatorWork\":%.3f,\"generatorJit\":%.3f,\"idle\":%.3f}", key, parts[0], parts[1], parts[2],
                parts[3], parts[4], parts[5]));
    }

    /** The report's last rows (the training run and the cache it wrote) and its JSON line, closed and printed. */
    static void printTraining(String trainingLabel, double trainingSeconds, long cacheBytes, StringBuilder json) {
        System.out.printf(Locale.ROOT, "%-52s %36s%n", trainingLabel, String.format(Locale.ROOT, "%.1f", trainingSeconds));
        System.out.printf(Locale.ROOT, "%-52s %36s%n", "AOT cache size, MiB",
                String.format(Locale.ROOT, "%.1f", cacheBytes / 1048576.0));
        json.append(String.format(Locale.ROOT, ",\"trainingSeconds\":%.1f,\"aotCacheBytes\":%d}", trainingSeconds,
                cacheBytes));
        System.out.println(json);
    }

    /**
     * Starts the server, runs the load for {@code seconds} after /health answers, stops it (SIGTERM; waiting up to
     * {@code exitLimit}, the time a training run needs to write its cache) and returns what was measured.
     */
    private static Start run(Path jar, Path dir, String mode, int round, String heap, List<String> flags, int clients,
            int window, int warmAt, int maxAttestations, Duration exitLimit) throws Exception {
        int seconds = warmAt > 0 ? Math.max(2 * window, warmAt + window) : 2 * window;
        String name = mode + "-" + round;
        long t0 = System.nanoTime();
        Server server = launch(jar, dir, name, heap, flags);
        Process p = server.process();
        Path log = server.log();
        ManagedChannel ch = null;
        Start measured;
        try {
            awaitHealthy(p, server.adminPort(), log, Duration.ofSeconds(120));
            long healthy = System.nanoTime();
            var bundle = Pem.parseCertificates(Files.readString(server.data().resolve("ca-bundle.pem"),
                    StandardCharsets.US_ASCII));
            ch = ControlPlaneChannels.open("127.0.0.1:" + server.grpcPort(), bundle, Optional.empty());
            ConcurrentLinkedQueue<Long> done = new ConcurrentLinkedQueue<>();
            AtomicInteger failures = new AtomicInteger();
            AtomicInteger next = new AtomicInteger();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong firstDone = new AtomicLong(); // the first certificate's time, 0 until then
            // Bounded in time: at most 'seconds' after the first certificate (and 120 s more in all), and in count
            long hardDeadline = healthy + TimeUnit.SECONDS.toNanos(120 + seconds);
            List<Thread> threads = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                ManagedChannel channel = ch;
                threads.add(Thread.ofPlatform().start(() -> {
                    SimNodeAttester attester = new SimNodeAttester(channel);
                    int n;
                    while (!stop.get() && (n = next.incrementAndGet()) <= maxAttestations
                            && System.nanoTime() < hardDeadline) {
                        try {
                            attester.attest(name + "-" + n);
                            long now = System.nanoTime();
                            done.add(now);
                            firstDone.compareAndSet(0, now);
                        } catch (Exception e) {
                            if (failures.incrementAndGet() <= 3) {
                                System.err.println(name + ": attestation failed: " + e);
                            }
                        }
                    }
                }));
            }
            // Where the machine's CPU goes: read every 100 ms until the load stops (or its deadline), split per
            // window below
            List<ThreadCpu.Reading> readings = java.util.Collections.synchronizedList(new ArrayList<>());
            long self = ProcessHandle.current().pid();
            Thread sampler = Thread.ofPlatform().daemon().name("cold-start-cpu").start(() -> {
                while (!stop.get() && System.nanoTime() < hardDeadline) {
                    ThreadCpu.read(p.pid(), self).ifPresent(readings::add);
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            long firstCert = 0;
            while (System.nanoTime() < hardDeadline) {
                if (firstDone.get() != 0) {
                    firstCert = firstDone.get();
                    if (System.nanoTime() - firstCert >= TimeUnit.SECONDS.toNanos(seconds)) {
                        break;
                    }
                }
                Thread.sleep(20);
            }
            stop.set(true);
            for (Thread th : threads) {
                th.join(60_000);
            }
            sampler.join(5_000);
            if (firstCert == 0) {
                throw new IllegalStateException(name + ": no certificate within " + (120 + seconds) + " s; log " + log);
            }
            long half = TimeUnit.SECONDS.toNanos(window);
            long f = firstCert;
            long inFirst = done.stream().filter(x -> x >= f && x < f + half).count();
            long inSecond = done.stream().filter(x -> x >= f + half && x < f + 2 * half).count();
            long warmFrom = f + TimeUnit.SECONDS.toNanos(warmAt);
            long inWarm = warmAt > 0 ? done.stream().filter(x -> x >= warmFrom && x < warmFrom + half).count() : 0;
            List<ThreadCpu.Reading> taken = List.copyOf(readings);
            measured = new Start(mode, round, (healthy - t0) / 1e9, (firstCert - t0) / 1e9, inFirst / (half / 1e9),
                    inSecond / (half / 1e9), warmAt > 0 ? inWarm / (half / 1e9) : Double.NaN, failures.get(),
                    split(taken, f, f + half), warmAt > 0 ? split(taken, warmFrom, warmFrom + half) : Optional.empty());
        } finally {
            if (ch != null) {
                ch.shutdownNow();
            }
            p.destroy();
            if (!p.waitFor(exitLimit.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
        // SIGTERM under load must end in a clean stop (status 0); a training run's 0 also says its cache was written
        // before the JVM exited, not cut off by the shutdown watchdog
        if (p.exitValue() != 0) {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            throw new IllegalStateException(name + ": the server exited " + p.exitValue() + " after SIGTERM, not 0; the "
                    + "end of its log:\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size())));
        }
        return measured;
    }

    /** The CPU split between the readings nearest {@code from} and {@code to}; empty unless both are within 0.5 s. */
    private static Optional<ThreadCpu.Split> split(List<ThreadCpu.Reading> readings, long from, long to) {
        long slack = TimeUnit.MILLISECONDS.toNanos(500);
        Optional<ThreadCpu.Reading> a = ThreadCpu.nearest(readings, from).filter(r -> Math.abs(r.nanos() - from) <= slack);
        Optional<ThreadCpu.Reading> b = ThreadCpu.nearest(readings, to).filter(r -> Math.abs(r.nanos() - to) <= slack);
        return a.isPresent() && b.isPresent() && b.get().nanos() > a.get().nanos()
                ? Optional.of(ThreadCpu.between(a.get(), b.get())) : Optional.empty();
    }

    /** A control plane started by {@link #launch}: its process, ports, data directory and log. */
    record Server(Process process, int grpcPort, int adminPort, Path data, Path log) {}

    /**
     * Starts {@code attestmesh server --dev} as the images do ({@code java -jar} with their flags, plus {@code flags}),
     * on loopback, with a new data directory {@code dir/data-NAME}, the perf mesh's policies and registrations in
     * {@code dir} ({@link FaultMesh#writeFiles}), and its output in {@code dir/NAME.log}.
     */
    static Server launch(Path jar, Path dir, String name, String heap, List<String> flags) throws IOException {
        Path data = dir.resolve("data-" + name);
        Path log = dir.resolve(name + ".log");
        int grpcPort = FaultMesh.freePort();
        int adminPort = FaultMesh.freePort();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + heap));
        cmd.addAll(flags);
        cmd.addAll(IMAGE_FLAGS);
        cmd.addAll(List.of("-jar", jar.toString(), "server", "--dev", "--data-dir", data.toString(), "--grpc-bind",
                "127.0.0.1", "--grpc-port", Integer.toString(grpcPort), "--admin-port", Integer.toString(adminPort),
                "--policy-file", dir.resolve("policies.yaml").toString(), "--registration-file",
                dir.resolve("registrations.yaml").toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("ATTESTMESH_") || k.equals("JAVA_TOOL_OPTIONS"));
        pb.environment().put("ATTESTMESH_CA_KEY", "cold-start-throwaway-ca-key");
        // One source address for every simulated node: the per-peer Challenge budget would cap the rate measured.
        pb.environment().put("ATTESTMESH_CHALLENGE_PEER_RATE", "1000000");
        pb.environment().put("ATTESTMESH_CHALLENGE_PEER_BURST", "1000000");
        return new Server(pb.start(), grpcPort, adminPort, data, log);
    }

    static void awaitHealthy(Process p, int adminPort, Path log, Duration limit)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IllegalStateException("server exited " + p.exitValue() + " while starting; log " + log + ":\n"
                        + Files.readString(log, StandardCharsets.UTF_8));
            }
            try {
                if (HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/health"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // Not listening yet.
            }
            Thread.sleep(10);
        }
        throw new IllegalStateException("server not healthy within " + limit + "; log " + log);
    }

    /** {@code --modes} names only {@code plain} and {@code aot}. */
    static void checkModes(List<String> modes) {
        for (String m : modes) {
            if (!m.equals("plain") && !m.equals("aot")) {
                throw new IllegalArgumentException("--modes takes plain and/or aot, not " + m);
            }
        }
    }

    static String spread(double[] v, String fmt) {
        if (v.length == 0) {
            return "n/a";
        }
        double[] s = v.clone();
        Arrays.sort(s);
        return String.format(Locale.ROOT, fmt + " (" + fmt + "-" + fmt + ", %d)", median(v), s[0], s[s.length - 1],
                s.length);
    }

    static double median(double[] v) {
        if (v.length == 0) {
            return 0;
        }
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
