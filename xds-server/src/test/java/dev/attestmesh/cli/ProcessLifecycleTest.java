package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.AttestationRefusedException;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.issuance.IssuanceLog;
import dev.attestmesh.issuance.IssuanceLogEntry;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.store.Database;
import dev.attestmesh.server.store.JdbcIssuanceLogStore;
import dev.attestmesh.server.testing.OpenAdsStream;
import dev.attestmesh.server.testing.TestMesh;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The long-running commands as real processes (this JVM's class path, {@link AttestMeshCli} as main class): each
 * exits within 10 s of SIGTERM ({@link Process#destroy()}) with status 0, the server ends an open ADS stream with
 * {@code UNAVAILABLE}, closes its H2 file cleanly, and its data reopens intact; after a kill -9 under attestation
 * load, every attestation that was answered is in the reopened store and its agent renews. Every wait has a hard
 * limit.
 */
class ProcessLifecycleTest {
    private static final Duration STOP_LIMIT = Duration.ofSeconds(10);
    private static final Duration START_LIMIT = Duration.ofSeconds(120);
    private static final String REPLICA = "authz-1";
    private static final ObjectMapper JSON = new ObjectMapper();

    private Path dir;
    private Path data;
    private final List<Process> processes = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeEach
    void files() throws IOException {
        dir = Files.createTempDirectory("attestmesh-lifecycle");
        data = dir.resolve("data");
        Files.writeString(dir.resolve("policies.yaml"), TestMesh.POLICIES);
        TestMesh.writeRegistrations(dir);
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (Process p : processes) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void serverStopsWithinTenSecondsOfSigtermEndsStreamsAndItsDataSurvivesRestartAndKill9() throws Exception {
        Server first = startServer("first");
        NodeAgent nodeA = agent(first, "node-a");
        AgentCredentials credsA = nodeA.attestOnce();
        List<String> drained;
        try (OpenAdsStream ads = OpenAdsStream.open(first.grpcTarget(), credsA, nodeA.clientIdentity().orElseThrow())) {
            ads.awaitFirstResponse(Duration.ofSeconds(10));

            // SIGTERM while nodes attest: every attestation a node was answered is stored before the exit.
            try (Load load = new Load(first, "drain-")) {
                load.awaitAttested(3);
                int code = sigterm(first.process, first.log);
                assertEquals(0, code, "a clean SIGTERM shutdown exits 0; log:\n" + read(first.log));
                drained = load.finish();
            }
            Status end = ads.awaitEnd(Duration.ofSeconds(5));
            assertEquals(Status.Code.UNAVAILABLE, end.getCode(), "the ADS stream ended with " + end);
            assertTrue(end.getDescription().contains("shutting down"), end.getDescription());
        }
        String firstLog = read(first.log);
        assertTrue(firstLog.contains("1 stream(s) ended with UNAVAILABLE"), firstLog);
        assertTrue(firstLog.contains("server stopped cleanly after SIGTERM"), firstLog);
        assertTrue(h2FileHeader().contains(",clean:1,"), "the H2 file was closed cleanly: " + h2FileHeader());

        // Restart on the same data: the nodes and their log entries are there. This and the next restart reuse one
        // gRPC port, as a restarted pod behind its Service would, so agents reach the restarted server.
        int port = freePort();
        Server second = startServer("second", port);
        List<String> expected = new ArrayList<>(List.of("node-a"));
        expected.addAll(drained);
        for (String id : expected) {
            assertEquals(200, get(second, "/api/v1/nodes/" + id).statusCode(), id + "'s record after restart");
        }
        assertEquals(expected, loggedNodes(second), "issuance log after restart");

        // kill -9 under attestation load (several agents at once): every attestation that was answered survives
        // the crash (the embedded H2 store writes each commit before it returns): after the restart each such node
        // has its record with the very certificate it was given and that certificate's log entry, the log's hash
        // chain holds, and the agents renew over mTLS with those certificates.
        Map<String, NodeAgent> beforeKill;
        try (Load load = new Load(second, "kill-", 4)) {
            load.awaitAttested(12);
            second.process.toHandle().destroyForcibly(); // SIGKILL
            assertTrue(second.process.waitFor(10, TimeUnit.SECONDS), "kill -9 ended the process");
            beforeKill = load.finishAgents();
        }
        Server third = startServer("third", port);
        List<String> logged = loggedNodes(third);
        assertTrue(logged.containsAll(expected), "entries from before the clean stop are all still there: " + logged);
        Map<String, String> loggedSerials = loggedSerials(third);
        for (Map.Entry<String, NodeAgent> answered : beforeKill.entrySet()) {
            String id = answered.getKey();
            BigInteger serial = answered.getValue().credentials().orElseThrow().leaf().getSerialNumber();
            HttpResponse<String> node = get(third, "/api/v1/nodes/" + id);
            assertEquals(200, node.statusCode(), id + " was answered a certificate before kill -9, so it is recorded");
            assertEquals(serial, new BigInteger(JSON.readTree(node.body()).path("node").path("certificateSerial").asText(),
                    16), id + "'s record holds the certificate it was answered");
            assertEquals(id, loggedSerials.get(serial.toString(16)), id + "'s certificate " + serial.toString(16)
                    + " is in the issuance log");
        }
        for (NodeAgent agent : beforeKill.values()) {
            agent.attestOnce(); // a renewal over mTLS with the certificate from before the crash
        }
        JsonNode verify = JSON.readTree(post(third, "/api/v1/issuance-log/verify").body());
        assertTrue(verify.path("intact").asBoolean(), "issuance log intact after kill -9: " + verify);
        agent(third, "after-crash").attestOnce();
        assertEquals(0, sigterm(third.process, third.log), read(third.log));

        // Closed cleanly: the file opens in this JVM with every entry, hash chain intact.
        assertTrue(h2FileHeader().contains(",clean:1,"), h2FileHeader());
        try (Database db = Database.embedded(data)) {
            IssuanceLog log = new IssuanceLog(new JdbcIssuanceLogStore(db));
            assertTrue(log.verify().intact(), "log intact in the reopened file");
            List<String> nodes = log.list(1, 1000).stream().map(IssuanceLogEntry::nodeId).toList();
            assertTrue(nodes.containsAll(expected) && nodes.contains("after-crash"), nodes.toString());
        }
    }

    /**
     * Agents attesting ({@code PREFIX1}, {@code PREFIX2}, ...) on {@code threads} threads, each one after another,
     * until the server goes away; at most 500 in all.
     */
    private final class Load implements AutoCloseable {
        private final List<String> attested = new CopyOnWriteArrayList<>();
        private final Map<String, NodeAgent> agents = new ConcurrentHashMap<>();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final AtomicInteger next = new AtomicInteger();
        private final ExecutorService thread;
        private final CompletableFuture<Void> done;

        Load(Server server, String prefix) {
            this(server, prefix, 1);
        }

        Load(Server server, String prefix, int threads) {
            thread = Executors.newFixedThreadPool(threads);
            List<CompletableFuture<Void>> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                workers.add(CompletableFuture.runAsync(() -> {
                    for (int i = next.incrementAndGet(); i <= 500 && !stop.get(); i = next.incrementAndGet()) {
                        String id = prefix + i;
                        NodeAgent agent = agent(server, id);
                        try {
                            agent.attestOnce();
                            agents.put(id, agent);
                            attested.add(id);
                        } catch (AttestationRefusedException e) {
                            return; // the server stopped taking calls
                        }
                    }
                }, thread));
            }
            done = CompletableFuture.allOf(workers.toArray(CompletableFuture[]::new));
        }

        void awaitAttested(int n) throws Exception {
            awaitTrue(() -> attested.size() >= n || done.isDone(), Duration.ofSeconds(60), "attestations under load");
            assertTrue(attested.size() >= n, "only " + attested + " attested before the load ended: " + done);
        }

        /** Waits for the load to stop (its server is gone) and returns the nodes that were answered a certificate. */
        List<String> finish() throws Exception {
            stop.set(true);
            done.get(60, TimeUnit.SECONDS);
            return List.copyOf(attested);
        }

        /** As {@link #finish()}, with each answered node's agent (holding the key and certificate it was given). */
        Map<String, NodeAgent> finishAgents() throws Exception {
            finish();
            return Map.copyOf(agents);
        }

        @Override
        public void close() {
            stop.set(true);
            thread.shutdownNow();
        }
    }

    @Test
    void authzAndAgentStopWithinTenSecondsOfSigterm() throws Exception {
        Server server = startServer("server", "--authz-replicas",
                "spiffe://attestmesh.local/attestmesh/replica/" + REPLICA);

        // A standalone ext_authz replica, with a replica certificate issued through the admin API.
        Path replica = dir.resolve("replica");
        int issued = AttestMeshCli.execute("ca", "issue-client", "--replica", REPLICA, "--out", replica.toString(),
                "--admin-url", server.adminUrl(), "--token", server.adminToken());
        assertEquals(0, issued, "ca issue-client --replica");
        Path authzLog = dir.resolve("authz.log");
        Process authz = start(authzLog, "authz", "--control-plane", server.grpcTarget(),
                "--ca-bundle", data.resolve("ca-bundle.pem").toString(), "--cert", replica.resolve("cert-chain.pem").toString(),
                "--key", replica.resolve("key.pem").toString(), "--port", "0", "--bind", "127.0.0.1", "--plaintext",
                "--replica-id", REPLICA);
        Matcher serving = awaitLog(authz, authzLog, Pattern.compile("serving Check on 127\\.0\\.0\\.1:(\\d+)"));
        awaitTrue(() -> accepts(Integer.parseInt(serving.group(1))), Duration.ofSeconds(10), "authz Check port open");

        // The node agent, renewing in the background and serving SDS on a Unix socket.
        Path out = dir.resolve("agent-out");
        Path socket = dir.resolve("sds.sock");
        Path agentLog = dir.resolve("agent.log");
        // The agent's own executable (its main class; xds-server has node-agent on its test class path only).
        Process agent = startMain(agentLog, dev.attestmesh.agent.cli.AgentMain.class.getName(), "--control-plane", server.grpcTarget(),
                "--ca-bundle", data.resolve("ca-bundle.pem").toString(), "--node-id", "node-agent", "--tee", "sim",
                "--sim-measurement", TestMesh.GOOD, "--output", out.toString(), "--sds-socket", socket.toString());
        awaitTrue(() -> Files.exists(out.resolve("cert-chain.pem")) && Files.exists(socket), START_LIMIT,
                () -> "agent attested and serving SDS; log:\n" + read(agentLog));

        assertEquals(0, sigterm(agent, agentLog), "agent exit status; log:\n" + read(agentLog));
        assertFalse(Files.exists(socket), "the agent removed its SDS socket");
        assertTrue(read(agentLog).contains("stopped after SIGTERM"), read(agentLog));

        assertEquals(0, sigterm(authz, authzLog), "authz exit status; log:\n" + read(authzLog));
        assertFalse(accepts(Integer.parseInt(serving.group(1))), "authz's Check port is closed");

        assertEquals(0, sigterm(server.process, server.log), read(server.log));
    }

    /** Sends SIGTERM and returns the exit status, failing unless the process exits within {@link #STOP_LIMIT}. */
    private static int sigterm(Process p, Path log) throws Exception {
        long t0 = System.nanoTime();
        p.destroy(); // SIGTERM on Linux
        boolean exited = p.waitFor(STOP_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        if (!exited) {
            p.destroyForcibly();
            throw new AssertionError("still running " + ms + " ms after SIGTERM; log:\n" + read(log));
        }
        assertTrue(ms <= STOP_LIMIT.toMillis(), "exited " + ms + " ms after SIGTERM");
        System.out.println(log.getFileName() + ": exited " + p.exitValue() + " " + ms + " ms after SIGTERM");
        return p.exitValue();
    }

    /** A server process and what its log says about it. */
    private record Server(Process process, Path log, int adminPort, int grpcPort, Path data) {
        String grpcTarget() {
            return "127.0.0.1:" + grpcPort;
        }

        String adminUrl() {
            return "http://127.0.0.1:" + adminPort;
        }

        String adminToken() throws IOException {
            return Files.readString(data.resolve("admin-token")).strip();
        }
    }

    private Server startServer(String name, String... extra) throws Exception {
        return startServer(name, 0, extra);
    }

    private Server startServer(String name, int grpcPort, String... extra) throws Exception {
        Path log = dir.resolve(name + ".log");
        List<String> args = new ArrayList<>(List.of("server", "--dev", "--data-dir", data.toString(), "--grpc-bind", "127.0.0.1",
                "--grpc-port", Integer.toString(grpcPort), "--admin-port", "0", "--policy-file", dir.resolve("policies.yaml").toString(),
                "--registration-file", dir.resolve("registrations.yaml").toString()));
        args.addAll(List.of(extra));
        Process p = start(log, args.toArray(String[]::new));
        int grpc = Integer.parseInt(awaitLog(p, log, Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)")).group(1));
        int admin = Integer.parseInt(awaitLog(p, log, Pattern.compile("admin API on http://127\\.0\\.0\\.1:(\\d+)")).group(1));
        Server s = new Server(p, log, admin, grpc, data);
        awaitTrue(() -> {
            try {
                return http.send(HttpRequest.newBuilder(URI.create(s.adminUrl() + "/health")).timeout(Duration.ofSeconds(5))
                        .build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
            } catch (IOException e) {
                return false;
            }
        }, Duration.ofSeconds(30), "/health of " + name);
        return s;
    }

    /** Starts {@code attestmesh ARGS} as a separate JVM on this test's class path, its output in {@code log}. */
    private Process start(Path log, String... args) throws IOException {
        return startMain(log, AttestMeshCli.class.getName(), args);
    }

    /** Starts {@code mainClass ARGS} as a separate JVM on this test's class path, its output in {@code log}. */
    private Process startMain(Path log, String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), mainClass));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("ATTESTMESH_TEST_LOG_LEVEL", "INFO"); // logback-test.xml is on this class path
        pb.environment().put("ATTESTMESH_CA_KEY", "process-lifecycle-test-key");
        pb.environment().remove("ATTESTMESH_ADMIN_TOKEN");
        pb.environment().remove("ATTESTMESH_DATABASE_URL");
        pb.environment().remove("ATTESTMESH_CONFIG");
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    private NodeAgent agent(Server s, String nodeId) {
        try {
            return new NodeAgent(new NodeAgent.Settings(nodeId, s.grpcTarget(),
                    Pem.parseCertificates(Files.readString(data.resolve("ca-bundle.pem"))), dir.resolve("nodes").resolve(nodeId),
                    Optional.empty(), Optional.empty()), SimulatedTee.withMeasurementHex(TestMesh.GOOD), Clock.systemUTC());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private List<String> loggedNodes(Server s) throws Exception {
        HttpResponse<String> r = get(s, "/api/v1/issuance-log?limit=1000");
        assertEquals(200, r.statusCode(), r.body());
        List<String> nodes = new ArrayList<>();
        JSON.readTree(r.body()).path("entries").forEach(e -> nodes.add(e.path("nodeId").asText()));
        return nodes;
    }

    /** Serial (hex) to node id of every issuance log entry. */
    private Map<String, String> loggedSerials(Server s) throws Exception {
        HttpResponse<String> r = get(s, "/api/v1/issuance-log?limit=1000");
        assertEquals(200, r.statusCode(), r.body());
        Map<String, String> serials = new HashMap<>();
        JSON.readTree(r.body()).path("entries").forEach(e -> serials.put(
                new BigInteger(e.path("serial").asText(), 16).toString(16), e.path("nodeId").asText()));
        return serials;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private HttpResponse<String> get(Server s, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(s.adminUrl() + path)).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + s.adminToken()).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(Server s, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(s.adminUrl() + path)).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + s.adminToken()).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The text header of the H2 MVStore file, which says {@code clean:1} only after an orderly close. */
    private String h2FileHeader() throws IOException {
        try (InputStream in = Files.newInputStream(data.resolve("attestmesh.mv.db"))) {
            return new String(in.readNBytes(256), StandardCharsets.ISO_8859_1).split("\n")[0];
        }
    }

    private static Matcher awaitLog(Process p, Path log, Pattern pattern) throws Exception {
        long deadline = System.nanoTime() + START_LIMIT.toNanos();
        while (System.nanoTime() < deadline) {
            Matcher m = pattern.matcher(read(log));
            if (m.find()) {
                return m;
            }
            if (!p.isAlive()) {
                throw new AssertionError("process exited " + p.exitValue() + " before logging " + pattern + ":\n" + read(log));
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no '" + pattern + "' within " + START_LIMIT + ":\n" + read(log));
    }

    interface Condition {
        boolean holds() throws Exception;
    }

    private static void awaitTrue(Condition c, Duration limit, String what) throws Exception {
        awaitTrue(c, limit, () -> what);
    }

    private static void awaitTrue(Condition c, Duration limit, Supplier<String> what) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (c.holds()) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("not within " + limit + ": " + what.get());
    }

    private static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static String read(Path log) {
        try {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e + ")";
        }
    }
}
