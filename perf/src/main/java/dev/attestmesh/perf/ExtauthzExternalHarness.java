package dev.attestmesh.perf;

import static dev.attestmesh.perf.HarnessSupport.parse;
import static dev.attestmesh.perf.HarnessSupport.loadAverage;
import static dev.attestmesh.perf.HarnessSupport.round;
import static dev.attestmesh.perf.HarnessSupport.fmt;
import static dev.attestmesh.perf.HarnessSupport.toJson;

import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.authz.AttestationAuthzService;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.perf.extauthz.GcLog;
import dev.attestmesh.perf.extauthz.H2load;
import dev.attestmesh.perf.extauthz.JvmProcess;
import dev.attestmesh.perf.faults.FaultMesh;
import dev.attestmesh.server.demo.DemoAuthzClient;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.grpc.stub.MetadataUtils;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * ext_authz measured from outside ({@code perf/run extauthz-external}), as Envoy sees it: the control plane ({@code
 * attestmesh server --dev}, embedded store) and a standalone ext_authz replica ({@code attestmesh authz}) run as their
 * own JVMs, each started as the images start them; the load comes from h2load ({@link H2load}), a separate C process,
 * not from a JVM sharing the server's heap and safepoints. A simulated node attests to the control plane to get a real
 * peer certificate; the request is the network filter's CheckRequest with that certificate URL-encoded as Envoy
 * sends it and the {@code x-attestmesh-policy-ids} header Envoy's {@code initial_metadata} carries. The floor is a
 * trivial gRPC method on the same server, port and transport, measured in the same run: {@code --floor health} (the
 * default) calls the replica's standard health service ({@code grpc.health.v1.Health/Check}, an empty request, a
 * two-byte answer), a real method on the same server and executor as Check, without its caller check; {@code --floor
 * sized} calls the same health check with its request padded to Check's exact size by a field the health service does
 * not know (protobuf reads it and keeps it aside; the answer is the same SERVING), so the floor carries the same bytes
 * on the wire, through TLS, HTTP/2 and gRPC's deframer, and the ratio is what Check's own work adds; {@code --floor unknown}
 * sends Check's own body to a method the replica does not have, which gRPC-java answers UNIMPLEMENTED without
 * creating a call or reading the message (the floor of the runs before 2026-12-07 06:30, when the replica had no
 * health service).
 *
 * <p>Per transport (plaintext on loopback as {@code --plaintext}; mutual TLS as Envoy connects, h2load presenting an
 * attested node's certificate): warm-up, then per round max throughput of the floor and of Check, and at each fixed
 * rate (paced evenly unless {@code --pacing burst}) the floor and Check; p50/p99/p99.9 as ratios to the floor; the replica's GC pauses and safepoints in each
 * phase's window ({@link GcLog}). h2load sees only HTTP status, so the replica's own count of allowed Checks, printed
 * when it stops, must equal h2load's 2xx Check responses plus the harness's own verification calls, and no Check may
 * have been denied: otherwise the run fails.
 *
 * <p>Arguments (all optional): {@code --duration SECONDS} per measured phase (10), {@code --rates 1000,5000,10000},
 * {@code --rounds N} (1; the targets ask for 5 runs of the 5,000/s phase), {@code --connections N} h2load connections
 * (2), {@code --streams N} concurrent streams per connection at max throughput (32) and at fixed rates (64), {@code
 * --transports plaintext,mtls} (mtls builds a small shim with {@code cc}, see {@link #buildClientCertShim}), {@code --authz-jvm "OPTIONS"} the replica's heap and GC flags ("-Xms256m -Xmx256m"),
 * {@code --check-executor direct|pool} (direct), {@code --max-requests N} per phase (5,000,000), {@code --floor
 * health|sized|unknown} (health), {@code --pacing spread|burst} for the fixed-rate phases (spread: evenly, one h2load
 * connection per 100 requests a second, see {@link H2load#runSpread}; burst: h2load's own pacing over {@code
 * --connections}, 10 ms bursts), {@code --keep-work-dir true} (false: the work directory, with h2load's per-request
 * logs ({@code *.tsv}) and the replica's GC log, is deleted after a run without problems). Prints a table, then
 * one line of JSON.
 */
public final class ExtauthzExternalHarness {
    private static final String REPLICA = "perf-external";
    private static final String REPLICA_ID = "spiffe://attestmesh.local/attestmesh/replica/" + REPLICA;
    private static final String CHECK_PATH = "/" + AuthorizationGrpc.SERVICE_NAME + "/Check";
    private static final String HEALTH_PATH = "/grpc.health.v1.Health/Check";
    private static final String UNKNOWN_PATH = "/attestmesh.perf.NoSuchService/Call";
    private static final Pattern SERVING = Pattern.compile("serving Check on 127\\.0\\.0\\.1:(\\d+)");
    private static final Pattern ANSWERED = Pattern.compile("Checks answered: (\\d+) allowed, (\\d+) denied");

    private ExtauthzExternalHarness() {}

    /** One measured phase: h2load's result and the replica's pauses in its window. */
    private record Phase(String transport, int round, String kind, H2load.Result result, GcLog.Pauses pauses) {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = parse(args);
        int seconds = Integer.parseInt(a.getOrDefault("duration", "10"));
        int[] rates = Arrays.stream(a.getOrDefault("rates", "1000,5000,10000").split(",")).mapToInt(Integer::parseInt).toArray();
        int rounds = Integer.parseInt(a.getOrDefault("rounds", "1"));
        int connections = Integer.parseInt(a.getOrDefault("connections", "2"));
        int streams = Integer.parseInt(a.getOrDefault("streams", "32"));
        int rateStreams = Integer.parseInt(a.getOrDefault("rate-streams", "64"));
        List<String> transports = List.of(a.getOrDefault("transports", "plaintext,mtls").split(","));
        List<String> authzJvm = List.of(a.getOrDefault("authz-jvm", "-Xms256m -Xmx256m").trim().split("\\s+"));
        String executor = a.getOrDefault("check-executor", "direct");
        long maxRequests = Long.parseLong(a.getOrDefault("max-requests", "5000000"));
        String floor = a.getOrDefault("floor", "health");
        boolean keep = Boolean.parseBoolean(a.getOrDefault("keep-work-dir", "false"));
        String pacing = a.getOrDefault("pacing", "spread");
        if (!pacing.equals("spread") && !pacing.equals("burst")) {
            throw new IllegalArgumentException("--pacing takes spread or burst, not " + pacing);
        }
        if (!floor.equals("health") && !floor.equals("sized") && !floor.equals("unknown")) {
            throw new IllegalArgumentException("--floor takes health, sized or unknown, not " + floor);
        }
        Path h2loadPath = H2load.find().orElseThrow(() -> new IllegalStateException(
                "h2load not found: install Debian's nghttp2-client (apt-get install nghttp2-client)"));

        Path dir = Files.createTempDirectory("attestmesh-extauthz-external");
        String loadBefore = loadAverage();
        System.out.printf("ext_authz outside-in: h2load %s, %d connection(s), streams %d (max) / %d (fixed rate), %d s per "
                + "phase, rates %s paced %s, %d round(s), transports %s, replica JVM %s, executor %s, floor %s, %d CPUs, "
                + "load average before: %s; work dir %s%n", h2loadPath, connections, streams, rateStreams, seconds,
                Arrays.toString(rates), pacing.equals("spread") ? "evenly (one h2load connection per 100/s)"
                        : "in h2load's 10 ms bursts", rounds, transports, authzJvm, executor, floor,
                Runtime.getRuntime().availableProcessors(), loadBefore, dir);
        FaultMesh.writeFiles(dir);
        Path data = dir.resolve("cp-data");
        int grpcPort = FaultMesh.freePort();
        int adminPort = FaultMesh.freePort();
        String target = "127.0.0.1:" + grpcPort;
        List<JvmProcess> started = new ArrayList<>();
        List<Phase> phases = new ArrayList<>();
        Map<String, Object> json = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        try {
            JvmProcess cp = JvmProcess.start("control-plane", dir, List.of("-Xmx512m"), List.of("server", "--dev",
                    "--data-dir", data.toString(), "--grpc-bind", "127.0.0.1", "--grpc-port", Integer.toString(grpcPort),
                    "--admin-port", Integer.toString(adminPort), "--policy-file", dir.resolve("policies.yaml").toString(),
                    "--registration-file", dir.resolve("registrations.yaml").toString(), "--authz-replicas", REPLICA_ID),
                    Map.of("ATTESTMESH_CA_KEY", "perf-external-throwaway-ca-key"));
            started.add(cp);
            awaitHealthy(cp, adminPort, Duration.ofSeconds(60));
            Path bundle = data.resolve("ca-bundle.pem");
            String token = Files.readString(data.resolve("admin-token")).strip();
            // The replica certificate, as an operator gets it: attestmesh ca issue-client through the admin API
            JvmProcess issue = JvmProcess.start("issue-replica", dir, List.of("-Xmx128m"), List.of("ca", "issue-client",
                    "--replica", REPLICA, "--out", dir.resolve("replica").toString(), "--admin-url",
                    "http://127.0.0.1:" + adminPort), Map.of("ATTESTMESH_ADMIN_TOKEN", token));
            issue.awaitSuccess(Duration.ofSeconds(60));
            List<X509Certificate> roots = Pem.parseCertificates(Files.readString(bundle, StandardCharsets.US_ASCII));
            // Three attested (simulated) nodes: the peer whose certificate Checks carry, the Envoy calling Check
            // (its certificate is h2load's client certificate over mTLS), and the host the replica serves TLS as.
            NodeAgent peer = FaultMesh.agent(target, roots, dir, "peer");
            NodeAgent caller = FaultMesh.agent(target, roots, dir, "caller");
            NodeAgent host = FaultMesh.agent(target, roots, dir, "authz-host");
            peer.attestOnce();
            caller.attestOnce();
            host.attestOnce();
            CheckRequest request = DemoAuthzClient.networkCheck(peer.credentials().orElseThrow().leaf(),
                    FaultMesh.spiffeId("caller"));
            Path body = Files.write(dir.resolve("check-request.bin"), grpcFrame(request.toByteArray()));
            String floorPath = floor.equals("unknown") ? UNKNOWN_PATH : HEALTH_PATH;
            byte[] floorRequest = switch (floor) {
                case "health" -> io.grpc.health.v1.HealthCheckRequest.getDefaultInstance().toByteArray();
                case "sized" -> sizedHealthRequest(request.getSerializedSize());
                default -> request.toByteArray();
            };
            Path floorBody = Files.write(dir.resolve("floor-request.bin"), grpcFrame(floorRequest));
            json.put("floor", switch (floor) {
                case "health" -> "grpc.health.v1.Health/Check";
                case "sized" -> "grpc.health.v1.Health/Check, request padded to Check's " + floorRequest.length + " bytes";
                default -> "unknown method, Check's body";
            });
            Path callerFiles = dir.resolve("nodes").resolve("caller");
            Path shim = transports.contains("mtls") ? buildClientCertShim(dir) : null;
            H2load h2load = new H2load(h2loadPath, dir);
            json.put("harness", "extauthz-external");
            json.put("pacing", pacing);
            json.put("checkRequestBytes", request.getSerializedSize());

            for (String transport : transports) {
                boolean tls = transport.equals("mtls");
                if (!tls && !transport.equals("plaintext")) {
                    throw new IllegalArgumentException("--transports takes plaintext and/or mtls, not " + transport);
                }
                Path gcLog = dir.resolve("authz-gc-" + transport + ".log");
                List<String> jvm = new ArrayList<>(authzJvm);
                jvm.add(GcLog.jvmOption(gcLog));
                List<String> authzArgs = new ArrayList<>(List.of("authz", "--control-plane", target, "--ca-bundle",
                        bundle.toString(), "--port", "0", "--cert", dir.resolve("replica/cert-chain.pem").toString(),
                        "--key", dir.resolve("replica/key.pem").toString(), "--dev", "--replica-id", REPLICA,
                        "--check-executor", executor));
                if (tls) {
                    Path h = dir.resolve("nodes").resolve("authz-host");
                    authzArgs.addAll(List.of("--serve-cert", h.resolve("cert-chain.pem").toString(), "--serve-key",
                            h.resolve("key.pem").toString()));
                } else {
                    authzArgs.add("--plaintext");
                }
                JvmProcess authz = JvmProcess.start("authz-" + transport, dir, jvm, authzArgs, Map.of());
                started.add(authz);
                int port = Integer.parseInt(authz.awaitLog(SERVING, Duration.ofSeconds(60)).group(1));
                Verifier verifier = new Verifier(port, tls, callerFiles, request);
                long h2loadChecks = 0;
                try {
                    verifier.awaitAllowed(Duration.ofSeconds(30));
                    String base = (tls ? "https" : "http") + "://127.0.0.1:" + port;
                    Map<String, String> headers = Map.of(AttestationAuthzService.POLICY_HEADER, FaultMesh.POLICY);
                    Map<String, String> env = tls ? Map.of("LD_PRELOAD", shim.toString(), "H2LOAD_CLIENT_CERT",
                            callerFiles.resolve("cert-chain.pem").toString(), "H2LOAD_CLIENT_KEY",
                            callerFiles.resolve("key.pem").toString()) : Map.of();
                    long timeout = seconds * 6L + 60;
                    // Warm-up: the replica's JIT compiles the Check path and the floor's; the rate estimate sizes -n.
                    H2load.Result warm = h2load.run(transport + "-warmup-check", base + CHECK_PATH, body, headers,
                            Math.min(maxRequests, 150_000), connections, streams, 0, env, timeout);
                    h2loadChecks += checkComplete(warm, problems);
                    checkComplete(h2load.run(transport + "-warmup-floor", base + floorPath, floorBody, headers,
                            Math.min(maxRequests, 100_000), connections, streams, 0, env, timeout), problems);
                    long maxN = Math.min(maxRequests, Math.max(10_000, (long) (warm.perSecond() * seconds)));
                    for (int round = 1; round <= rounds; round++) {
                        // Interleaved: interference from other processes hits Check and its floor alike
                        H2load.Result floorMax = h2load.run(transport + "-r" + round + "-floor-max", base + floorPath,
                                floorBody, headers, maxN * 2, connections, streams, 0, env, timeout);
                        checkComplete(floorMax, problems);
                        phases.add(new Phase(transport, round, "floor max", floorMax, pauses(gcLog, floorMax)));
                        H2load.Result checkMax = h2load.run(transport + "-r" + round + "-check-max", base + CHECK_PATH,
                                body, headers, maxN, connections, streams, 0, env, timeout);
                        h2loadChecks += checkComplete(checkMax, problems);
                        phases.add(new Phase(transport, round, "check max", checkMax, pauses(gcLog, checkMax)));
                        for (int rate : rates) {
                            long n = Math.min(maxRequests, (long) rate * seconds);
                            H2load.Result floorAt = atRate(h2load, pacing, transport + "-r" + round + "-floor-" + rate,
                                    base + floorPath, floorBody, headers, n, connections, rateStreams, rate, env, timeout);
                            checkComplete(floorAt, problems);
                            phases.add(new Phase(transport, round, "floor @" + rate, floorAt, pauses(gcLog, floorAt)));
                            H2load.Result checkAt = atRate(h2load, pacing, transport + "-r" + round + "-check-" + rate,
                                    base + CHECK_PATH, body, headers, n, connections, rateStreams, rate, env, timeout);
                            h2loadChecks += checkComplete(checkAt, problems);
                            phases.add(new Phase(transport, round, "check @" + rate, checkAt, pauses(gcLog, checkAt)));
                        }
                    }
                    verifier.check(); // and a last one after the load: still allowed
                } finally {
                    verifier.close();
                }
                String log = authz.stop();
                Matcher m = ANSWERED.matcher(log);
                if (!m.find()) {
                    problems.add(transport + ": the replica did not report its answered Checks:\n" + authz.tail());
                } else {
                    long allowed = Long.parseLong(m.group(1));
                    long denied = Long.parseLong(m.group(2));
                    json.put(transport + "ReplicaAllowed", allowed);
                    json.put(transport + "ReplicaDenied", denied);
                    json.put(transport + "H2loadChecks", h2loadChecks);
                    if (allowed != h2loadChecks + verifier.allowed || denied != verifier.deniedWhileSyncing) {
                        problems.add(transport + ": the replica allowed " + allowed + " and denied " + denied
                                + " Checks; expected " + (h2loadChecks + verifier.allowed) + " allowed (h2load's "
                                + h2loadChecks + " + " + verifier.allowed + " verification calls) and "
                                + verifier.deniedWhileSyncing + " denied (before its first registry snapshot)");
                    }
                }
            }
        } finally {
            for (JvmProcess p : started.reversed()) {
                if (p.isAlive()) {
                    p.stop();
                }
                p.destroy();
            }
        }
        report(phases, rates, rounds, json, problems, loadBefore);
        if (!problems.isEmpty()) {
            System.exit(1);
        }
        if (keep) {
            System.out.println("work directory kept: " + dir);
        } else {
            FaultMesh.delete(dir);
        }
    }

    /**
     * A fixed-rate phase: {@code spread} paces it evenly over {@code ceil(rate / 100)} connections, one h2load process
     * each ({@link H2load#runSpread}); {@code burst} is h2load's own pacing over {@code connections}, which releases
     * each connection's requests in bursts every 10 ms ({@link H2load#run}).
     */
    private static H2load.Result atRate(H2load h2load, String pacing, String name, String url, Path body,
            Map<String, String> headers, long n, int connections, int streams, int rate, Map<String, String> env,
            long timeout) throws IOException, InterruptedException {
        return pacing.equals("spread") ? h2load.runSpread(name, url, body, headers, n, streams, rate, env, timeout)
                : h2load.run(name, url, body, headers, n, connections, streams, rate, env, timeout);
    }

    private static void report(List<Phase> phases, int[] rates, int rounds, Map<String, Object> json, List<String> problems,
            String loadBefore) {
        System.out.println();
        System.out.printf("%-10s %-3s %-14s %9s %10s %9s %9s %9s %9s %8s %8s %8s %17s %13s%n", "transport", "rnd", "phase",
                "requests", "per s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "x floor", "p50 x", "p99 x",
                "GC n/sum/max ms", "safepoint ms");
        for (Phase p : phases) {
            H2load.Result r = p.result();
            Phase floor = p.kind().startsWith("check") ? floorOf(phases, p) : null;
            System.out.printf(Locale.ROOT, "%-10s %-3d %-14s %9d %10.0f %9.3f %9.3f %9.3f %9.3f %8s %8s %8s %17s %13.1f%n",
                    p.transport(), p.round(), p.kind(), r.logged(), r.perSecond(), r.percentileMs(50), r.percentileMs(99),
                    r.percentileMs(99.9), r.maxMs(),
                    floor == null ? "" : fmt(r.perSecond() / floor.result().perSecond()),
                    floor == null ? "" : fmt(r.percentileMs(50) / floor.result().percentileMs(50)),
                    floor == null ? "" : fmt(r.percentileMs(99) / floor.result().percentileMs(99)),
                    p.pauses().gcPauses() + "/" + fmt1(p.pauses().gcPauseTotalMs()) + "/" + fmt1(p.pauses().gcPauseMaxMs()),
                    p.pauses().safepointTotalMs());
        }
        for (String transport : phases.stream().map(Phase::transport).distinct().toList()) {
            List<Phase> max = select(phases, transport, "check max");
            json.put(transport + "CheckPerSecond", Math.round(median(max, x -> x.result().perSecond())));
            json.put(transport + "FloorPerSecond", Math.round(median(select(phases, transport, "floor max"),
                    x -> x.result().perSecond())));
            json.put(transport + "ThroughputRatioToFloor", round(median(max,
                    x -> x.result().perSecond() / floorOf(phases, x).result().perSecond())));
            for (int rate : rates) {
                List<Phase> at = select(phases, transport, "check @" + rate);
                json.put(transport + "P50MsAt" + rate, round(median(at, x -> x.result().percentileMs(50))));
                json.put(transport + "P50RatioAt" + rate, round(median(at,
                        x -> x.result().percentileMs(50) / floorOf(phases, x).result().percentileMs(50))));
                json.put(transport + "P99MsAt" + rate, round(median(at, x -> x.result().percentileMs(99))));
                json.put(transport + "P99RatioAt" + rate, round(median(at,
                        x -> x.result().percentileMs(99) / floorOf(phases, x).result().percentileMs(99))));
                json.put(transport + "P999MsAt" + rate, round(median(at, x -> x.result().percentileMs(99.9))));
                json.put(transport + "P999RatioAt" + rate, round(median(at,
                        x -> x.result().percentileMs(99.9) / floorOf(phases, x).result().percentileMs(99.9))));
                json.put(transport + "FloorP50MsAt" + rate, round(median(select(phases, transport, "floor @" + rate),
                        x -> x.result().percentileMs(50))));
                json.put(transport + "AchievedPerSecondAt" + rate, Math.round(median(at, x -> x.result().perSecond())));
                json.put(transport + "GcPauseMsAt" + rate, round(median(at, x -> x.pauses().gcPauseTotalMs())));
                if (rate == 5000) {
                    json.put(transport + "P99MsAt5000EachRound", at.stream().map(x -> fmt(x.result().percentileMs(99)))
                            .toList().toString());
                }
            }
        }
        json.put("rounds", rounds);
        json.put("loadAverageBefore", loadBefore);
        json.put("loadAverageAfter", loadAverage());
        json.put("problems", problems.size());
        System.out.println();
        System.out.println("medians over " + rounds + " round(s); targets (outside-in): Check >= 0.8x the floor's throughput, "
                + "p50 <= 1.2x the floor at 5,000/s, p99 <= 2 ms at 5,000/s in every round");
        for (String transport : phases.stream().map(Phase::transport).distinct().toList()) {
            Object ratio = json.get(transport + "ThroughputRatioToFloor");
            Object p50 = json.get(transport + "P50RatioAt5000");
            long p99Misses = select(phases, transport, "check @5000").stream().filter(x -> x.result().percentileMs(99) > 2.0).count();
            System.out.println("  " + transport + ": throughput " + ratio + "x floor (" + ((double) ratio >= 0.8 ? "met" : "NOT met")
                    + ")" + (p50 == null ? "" : "; p50 at 5,000/s " + p50 + "x floor (" + ((double) p50 <= 1.2 ? "met" : "NOT met")
                    + "); p99 at 5,000/s over 2 ms in " + p99Misses + " of " + rounds + " round(s)"));
        }
        for (String p : problems) {
            System.out.println("PROBLEM: " + p);
        }
        System.out.println(toJson(json));
    }

    private static List<Phase> select(List<Phase> phases, String transport, String kind) {
        return phases.stream().filter(p -> p.transport().equals(transport) && p.kind().equals(kind)).toList();
    }

    /**
     * A health check for the whole server ({@code service} empty, answered SERVING) whose encoding is {@code size}
     * bytes: padded with a length-delimited field 1000, which HealthCheckRequest does not define (protobuf keeps it as
     * an unknown field).
     */
    static byte[] sizedHealthRequest(int size) {
        for (int pad = size - 3; pad >= 0 && pad >= size - 8; pad--) { // tag 2 bytes, length 1 to 5
            byte[] encoded = io.grpc.health.v1.HealthCheckRequest.newBuilder().setUnknownFields(
                    com.google.protobuf.UnknownFieldSet.newBuilder().addField(1000, com.google.protobuf.UnknownFieldSet.Field
                            .newBuilder().addLengthDelimited(com.google.protobuf.ByteString.copyFrom(new byte[pad])).build())
                            .build()).build().toByteArray();
            if (encoded.length == size) {
                return encoded;
            }
        }
        throw new IllegalStateException("no padding makes a health check request of " + size + " bytes");
    }

    /** The floor phase measured next to {@code check} (same transport, round and rate). */
    private static Phase floorOf(List<Phase> phases, Phase check) {
        String kind = check.kind().replace("check", "floor");
        return phases.stream().filter(p -> p.transport().equals(check.transport()) && p.round() == check.round()
                && p.kind().equals(kind)).findFirst().orElseThrow();
    }

    private static double median(List<Phase> ps, java.util.function.ToDoubleFunction<Phase> f) {
        double[] v = ps.stream().mapToDouble(f).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** Counts the phase's 2xx responses, noting a problem when any request was not answered with 2xx. */
    private static long checkComplete(H2load.Result r, List<String> problems) {
        if (!r.complete()) {
            problems.add("h2load phase " + r.name() + ": " + r.requests() + " requests, " + r.succeeded() + " succeeded, "
                    + r.failed() + " failed/errored/timed out, " + r.non2xx() + " non-2xx rows, " + r.logged() + " logged");
        }
        return r.status2xx();
    }

    private static GcLog.Pauses pauses(Path gcLog, H2load.Result r) throws IOException {
        return GcLog.in(gcLog, r.firstStartMicros() / 1000, r.lastEndMicros() / 1000 + 1);
    }

    /** gRPC's length-prefixed message: uncompressed flag, 4-byte big-endian length, the message. */
    static byte[] grpcFrame(byte[] message) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(message.length + 5);
        DataOutputStream d = new DataOutputStream(out);
        d.writeByte(0);
        d.writeInt(message.length);
        d.write(message);
        return out.toByteArray();
    }

    /**
     * h2load has no option for a TLS client certificate, and OpenSSL's {@code system_default} configuration ignores
     * {@code Certificate}/{@code PrivateKey}; so a small LD_PRELOAD shim ({@code perf/native/h2load_client_cert.c},
     * compiled here with {@code cc}) loads the caller's chain and key into every TLS context h2load creates. h2load
     * itself then does mutual TLS with the replica, as Envoy does, with no TLS terminator in between. The replica
     * answers Check only to an authenticated caller, so a missing certificate shows as unanswered Checks.
     */
    static Path buildClientCertShim(Path dir) throws IOException, InterruptedException {
        Path source = Path.of("perf", "native", "h2load_client_cert.c").toAbsolutePath();
        if (!Files.exists(source)) {
            throw new IllegalStateException("mtls needs " + source + " (run from the repository root, as perf/run does)");
        }
        Path lib = dir.resolve("h2load_client_cert.so");
        Process cc = new ProcessBuilder("cc", "-shared", "-fPIC", "-o", lib.toString(), source.toString(), "-ldl", "-lssl")
                .redirectErrorStream(true).start();
        String out = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!cc.waitFor(60, TimeUnit.SECONDS) || cc.exitValue() != 0) {
            throw new IllegalStateException("cannot build the h2load client-certificate shim (needs cc and libssl): " + out);
        }
        return lib;
    }

    /** The harness's own Checks on the replica over the same transport, with the same request: each must be allowed. */
    private static final class Verifier implements AutoCloseable {
        private final ManagedChannel channel;
        private final AuthorizationGrpc.AuthorizationBlockingStub stub;
        private final CheckRequest request;
        long allowed;
        long deniedWhileSyncing;

        Verifier(int port, boolean tls, Path callerFiles, CheckRequest request) throws IOException {
            ChannelCredentials creds = tls ? TlsChannelCredentials.newBuilder()
                    .keyManager(callerFiles.resolve("cert-chain.pem").toFile(), callerFiles.resolve("key.pem").toFile())
                    // The serving certificate names a SPIFFE ID, not a host; as for h2load, the server's identity is
                    // not what is measured here (the replica's own tests check it)
                    .trustManager(InsecureTrustManagerFactory.INSTANCE.getTrustManagers())
                    .build() : InsecureChannelCredentials.create();
            this.channel = Grpc.newChannelBuilder("127.0.0.1:" + port, creds).build();
            Metadata md = new Metadata();
            md.put(DemoAuthzClient.POLICY_HEADER, FaultMesh.POLICY);
            this.stub = AuthorizationGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
            this.request = request;
        }

        /** Until the replica has its first registry snapshot it denies; waits for the first allow. */
        void awaitAllowed(Duration limit) throws InterruptedException {
            long deadline = System.nanoTime() + limit.toNanos();
            String last = "";
            while (System.nanoTime() < deadline) {
                CheckResponse r;
                try {
                    r = stub.withDeadlineAfter(5, TimeUnit.SECONDS).check(request);
                } catch (io.grpc.StatusRuntimeException e) {
                    // Before its first snapshot an mTLS replica knows no attested caller and refuses the call itself
                    // (the service is not reached, so it counts nothing)
                    last = e.getStatus().toString();
                    Thread.sleep(100);
                    continue;
                }
                if (r.getStatus().getCode() == 0) {
                    allowed++;
                    return;
                }
                deniedWhileSyncing++;
                last = r.getStatus().getMessage();
                Thread.sleep(100);
            }
            throw new IllegalStateException("the replica did not allow the attested peer within " + limit + ": " + last);
        }

        void check() {
            CheckResponse r = stub.withDeadlineAfter(5, TimeUnit.SECONDS).check(request);
            if (r.getStatus().getCode() != 0 || !r.getDynamicMetadata().getFieldsOrThrow("node_id").getStringValue().equals("peer")) {
                throw new IllegalStateException("verification Check not allowed for node 'peer': " + r.getStatus());
            }
            allowed++;
        }

        @Override
        public void close() throws InterruptedException {
            channel.shutdownNow();
            channel.awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static void awaitHealthy(JvmProcess p, int adminPort, Duration limit) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IllegalStateException("control plane exited while starting:\n" + p.tail());
            }
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort
                        + "/health")).timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("control plane not healthy within " + limit + ":\n" + p.tail());
    }

    private static String fmt1(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }
}
