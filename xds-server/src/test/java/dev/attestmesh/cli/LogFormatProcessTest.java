package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.testing.TestMesh;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code attestmesh server} as a real process with each log format, through a flow that handles every secret the
 * control plane holds (the CA encryption key, the admin token, a wrong token presented by a caller, a secret's
 * value written through the admin API, an attestation): every line of the log carries an ISO-8601 date with its
 * offset (JSON: every line is one object whose {@code @timestamp} parses; text: every event line starts with one),
 * and none of those secrets appears anywhere in the output.
 */
class LogFormatProcessTest {
    private static final String CA_KEY = "ca-key-must-not-be-logged-5f1e2d";
    private static final String ADMIN_TOKEN = "admin-token-must-not-be-logged-9c8b7a";
    private static final String WRONG_TOKEN = "wrong-token-must-not-be-logged-3e4f";
    private static final String SECRET_VALUE = "secret-value-must-not-be-logged-77aa";
    private static final Pattern TEXT_EVENT = Pattern.compile(
            "^(\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}(?:Z|[+-]\\d{2}:\\d{2})) (TRACE|DEBUG|INFO |WARN |ERROR) .*");

    private Path dir;
    private Process process;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeEach
    void files() throws IOException {
        dir = Files.createTempDirectory("attestmesh-logformat");
        Files.writeString(dir.resolve("policies.yaml"), TestMesh.POLICIES);
        TestMesh.writeRegistrations(dir);
    }

    @AfterEach
    void cleanUp() throws Exception {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        http.close();
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void jsonLinesCarryIsoTimestampsAndNoSecrets() throws Exception {
        String log = runFlow("--log-format", "json");
        ObjectMapper json = new ObjectMapper();
        int lines = 0;
        for (String line : log.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode event = json.readTree(line); // every line is one JSON object
            OffsetDateTime.parse(event.path("@timestamp").asText(), DateTimeFormatter.ISO_OFFSET_DATE_TIME);
            assertTrue(event.hasNonNull("level") && event.hasNonNull("message") && event.hasNonNull("logger_name"),
                    line);
            lines++;
        }
        assertTrue(lines >= 5, "expected the server's start, attestation and stop lines:\n" + log);
        assertTrue(log.contains("attested"), log);
        assertNoSecrets(log);
    }

    @Test
    void textLinesStartWithAnIsoDateAndCarryNoSecrets() throws Exception {
        String log = runFlow("--log-format", "text");
        int events = 0;
        for (String line : log.split("\n")) {
            Matcher m = TEXT_EVENT.matcher(line);
            if (m.matches()) {
                OffsetDateTime.parse(m.group(1), DateTimeFormatter.ISO_OFFSET_DATE_TIME);
                events++;
            } else {
                // continuation of a multi-line event: a stack frame or the dev-mode banner, never a new event
                assertTrue(line.isBlank() || line.startsWith("\t") || line.startsWith(" ") || line.startsWith("*")
                        || line.startsWith("Caused by") || line.startsWith("java.") || line.startsWith("io."),
                        "a line that neither starts with an ISO-8601 date nor continues an event: " + line);
            }
        }
        assertTrue(events >= 5, log);
        assertNoSecrets(log);
    }

    @Test
    void anUnknownFormatIsRefusedNamingTheChoices() throws Exception {
        Path log = dir.resolve("bad.log");
        Process p = start(log, "server", "--log-format", "xml", "--data-dir", dir.resolve("data").toString());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue());
        assertTrue(Files.readString(log).contains("--log-format must be one of [text, json], not 'xml'"),
                Files.readString(log));
    }

    private void assertNoSecrets(String log) {
        for (String secret : List.of(CA_KEY, ADMIN_TOKEN, WRONG_TOKEN, SECRET_VALUE,
                Base64.getEncoder().encodeToString(SECRET_VALUE.getBytes(StandardCharsets.UTF_8)))) {
            assertFalse(log.contains(secret), "the log holds a secret (" + secret.substring(0, 12) + "...)");
        }
    }

    /** Starts the server, runs the flow, stops it with SIGTERM and returns everything it wrote. */
    private String runFlow(String... format) throws Exception {
        Path log = dir.resolve("server.log");
        List<String> args = new ArrayList<>(List.of("server", "--dev", "--data-dir", dir.resolve("data").toString(),
                "--grpc-bind", "127.0.0.1", "--grpc-port", "0", "--admin-port", "0",
                "--policy-file", dir.resolve("policies.yaml").toString(),
                "--registration-file", dir.resolve("registrations.yaml").toString()));
        args.addAll(List.of(format));
        process = start(log, args.toArray(String[]::new));
        int grpc = Integer.parseInt(await(log, Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)")).group(1));
        int admin = Integer.parseInt(await(log, Pattern.compile("admin API on http://127\\.0\\.0\\.1:(\\d+)")).group(1));
        String base = "http://127.0.0.1:" + admin;

        assertEquals(401, send(base, "GET", "/api/v1/nodes", WRONG_TOKEN, null).statusCode());
        String body = "{\"value\":\"" + Base64.getEncoder().encodeToString(SECRET_VALUE.getBytes(StandardCharsets.UTF_8))
                + "\",\"allow\":[\"policy:default\"]}";
        HttpResponse<String> put = send(base, "PUT", "/api/v1/secrets/db-password", ADMIN_TOKEN, body);
        assertTrue(put.statusCode() / 100 == 2, put.body());
        NodeAgent agent = new NodeAgent(new NodeAgent.Settings("node-a", "127.0.0.1:" + grpc,
                Pem.parseCertificates(Files.readString(dir.resolve("data").resolve("ca-bundle.pem"))),
                dir.resolve("nodes").resolve("node-a"), Optional.empty(), Optional.empty()),
                SimulatedTee.withMeasurementHex(TestMesh.GOOD), Clock.systemUTC());
        agent.attestOnce();
        NodeAgent refused = new NodeAgent(new NodeAgent.Settings("node-b", "127.0.0.1:" + grpc,
                Pem.parseCertificates(Files.readString(dir.resolve("data").resolve("ca-bundle.pem"))),
                dir.resolve("nodes").resolve("node-b"), Optional.empty(), Optional.empty()),
                SimulatedTee.withMeasurementHex("b2".repeat(48)), Clock.systemUTC());
        assertThrows(Exception.class, refused::attestOnce);
        assertEquals(200, send(base, "GET", "/metrics", ADMIN_TOKEN, null).statusCode());

        process.destroy(); // SIGTERM: the shutdown lines are logged too
        assertTrue(process.waitFor(20, TimeUnit.SECONDS), "the server stops within 20 s of SIGTERM");
        return Files.readString(log);
    }

    private HttpResponse<String> send(String base, String method, String path, String token, String body)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + token);
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private Process start(Path log, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1", "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", // as ./attestmesh and the images run it
                "-cp", serverClassPath(), AttestMeshCli.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("ATTESTMESH_CA_KEY", CA_KEY);
        pb.environment().put("ATTESTMESH_ADMIN_TOKEN", ADMIN_TOKEN);
        pb.environment().put("ATTESTMESH_LOG_LEVEL", "DEBUG"); // the most the server would ever write
        pb.environment().put("ATTESTMESH_MICRONAUT_LOG_LEVEL", "INFO");
        pb.environment().remove("ATTESTMESH_DATABASE_URL");
        pb.environment().remove("ATTESTMESH_CONFIG");
        pb.environment().remove("ATTESTMESH_LOG_FORMAT");
        return pb.start();
    }

    /**
     * This JVM's class path without the node agent, which the server does not use: in a reactor build at
     * {@code verify} it is the agent's executable jar, which bundles slf4j-simple, and a second slf4j provider would
     * make slf4j print a warning of its own (not a log line of the server) into the output under test.
     */
    private static String serverClassPath() {
        return Stream.of(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
                .filter(e -> !e.contains("attestmesh-agent") && !e.replace('\\', '/').contains("/node-agent/"))
                .collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
    }

    private Matcher await(Path log, Pattern p) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            Matcher m = p.matcher(Files.exists(log) ? Files.readString(log) : "");
            if (m.find()) {
                return m;
            }
            if (!process.isAlive()) {
                throw new AssertionError("the server exited with " + process.exitValue() + ":\n" + Files.readString(log));
            }
            Thread.sleep(100);
        }
        throw new AssertionError("'" + p + "' not in the log within 120 s:\n" + Files.readString(log));
    }
}
