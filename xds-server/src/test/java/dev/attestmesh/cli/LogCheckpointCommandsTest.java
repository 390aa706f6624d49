package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.attestmesh.issuance.IssuanceLog;
import dev.attestmesh.issuance.IssuanceLogEntry;
import dev.attestmesh.server.ControlPlaneFixture;
import dev.attestmesh.server.store.TestPostgres;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Signed issuance log checkpoints end to end: a real control plane issues certificates, a checkpoint is
 * signed and saved, then the log's storage is tampered with as an attacker with database access would
 * (truncating the tail; rewriting an entry and recomputing the chain so that the plain verification
 * passes) and {@code attestmesh log verify --checkpoint} must name what happened, on H2 and PostgreSQL.
 * Also: the admin API's roles, the schedule, and a verifier that uses only OpenSSL.
 */
class LogCheckpointCommandsTest {
    static final String GOOD = ControlPlaneFixture.GOOD;
    static final String TOKEN = "checkpoint-test-admin-token-0123456789";
    static final ObjectMapper JSON = new ObjectMapper();
    static final com.fasterxml.jackson.dataformat.yaml.YAMLMapper YAML = new com.fasterxml.jackson.dataformat.yaml.YAMLMapper();

    /** Exit code and standard output/error of one CLI run. */
    record Run(int exit, String out, String err) {}

    static ControlPlaneFixture start(String interval, Map<String, Object> more) throws Exception {
        Map<String, Object> props = new HashMap<>(more);
        props.put("attestmesh.admin.token", TOKEN);
        props.put("attestmesh.log.checkpoint-interval", interval);
        return ControlPlaneFixture.start(ControlPlaneFixture.simPolicy("default", GOOD), props);
    }

    static String adminUrl(ControlPlaneFixture f) {
        return "http://127.0.0.1:" + f.ctx.getBean(EmbeddedServer.class).getPort();
    }

    static synchronized Run cli(ControlPlaneFixture f, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--admin", adminUrl(f), "--token", TOKEN));
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int code = AttestMeshCli.execute(all.toArray(String[]::new));
            return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test
    void checkpointRevealsTruncationAndRewriteOnH2() throws Exception {
        try (ControlPlaneFixture f = start("0s", Map.of())) {
            tamperScenario(f);
        }
    }

    @Test
    void checkpointRevealsTruncationAndRewriteOnPostgres() throws Exception {
        String url = TestPostgres.freshSchema().url().orElseThrow();
        try (ControlPlaneFixture f = start("0s", Map.of("attestmesh.database.url", url))) {
            tamperScenario(f);
        }
    }

    private void tamperScenario(ControlPlaneFixture f) throws Exception {
        for (int i = 1; i <= 4; i++) {
            f.agent("log-node-" + i, GOOD).attestOnce();
        }
        long size = f.cp.issuanceLog().head().orElseThrow().sequence();
        assertTrue(size >= 4, "every attestation is logged");
        Path saved = f.dir.resolve("checkpoint.txt");
        Run taken = cli(f, "log", "checkpoint", "--create", "--out", saved.toString());
        assertEquals(0, taken.exit(), taken.out() + taken.err());
        assertTrue(taken.out().contains("(size " + size + ","), taken.out());
        assertTrue(Files.readString(saved).startsWith("attestmesh.local/attestmesh/issuance-log\n" + size + "\n"));
        String root = f.cp.caBundleFile().toString();

        // (c) an honest log that grew after the checkpoint passes, from the file, a URL and the admin API
        f.agent("log-node-5", GOOD).attestOnce();
        f.agent("log-node-6", GOOD).attestOnce();
        Run honest = cli(f, "log", "verify", "--checkpoint", saved.toString(), "--ca-root", root);
        assertEquals(0, honest.exit(), honest.out() + honest.err());
        assertTrue(honest.out().startsWith("OK: issuance log intact: " + (size + 2) + " entries verified, consistent "
                + "with the checkpoint of"), honest.out());
        assertTrue(honest.out().contains("pinned with --ca-root"), honest.out());
        Run latest = cli(f, "log", "verify", "--latest-checkpoint");
        assertEquals(0, latest.exit(), latest.out() + latest.err());
        assertTrue(latest.out().contains("as served by the admin API"), latest.out());
        // -o json / yaml: the shapes of docs/operator-guide.md ("Output formats")
        JsonNode honestJson = JSON.readTree(cli(f, "log", "verify", "--checkpoint", saved.toString(), "--ca-root", root,
                "-o", "json").out());
        assertEquals("CONSISTENT", honestJson.path("outcome").asText(), honestJson.toString());
        assertTrue(honestJson.path("consistent").asBoolean());
        assertEquals(size + 2, honestJson.path("entriesChecked").asLong());
        assertEquals(size, honestJson.path("checkpoint").path("size").asLong());
        assertEquals("pinned with --ca-root", honestJson.path("checkpoint").path("rootSource").asText());
        JsonNode plainJson = JSON.readTree(cli(f, "log", "verify", "-o", "json").out());
        assertTrue(plainJson.path("intact").asBoolean(), plainJson.toString());
        assertEquals(size + 2, plainJson.path("entriesChecked").asLong());
        Run latestYaml = cli(f, "log", "checkpoint", "-o", "yaml");
        assertEquals(0, latestYaml.exit(), latestYaml.err());
        JsonNode checkpointYaml = YAML.readTree(latestYaml.out());
        assertEquals(size, checkpointYaml.path("size").asLong(), latestYaml.out());
        assertEquals(Files.readString(saved), checkpointYaml.path("note").asText());
        assertEquals(checkpointYaml, JSON.readTree(cli(f, "log", "checkpoint", "-o", "json").out()));
        HttpServer published = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        byte[] note = Files.readAllBytes(saved);
        published.createContext("/checkpoint", x -> {
            x.sendResponseHeaders(200, note.length);
            x.getResponseBody().write(note);
            x.close();
        });
        published.start();
        try {
            Run fromUrl = cli(f, "log", "verify", "--checkpoint-url", "http://127.0.0.1:" + published.getAddress().getPort()
                    + "/checkpoint", "--ca-root", root);
            assertEquals(0, fromUrl.exit(), fromUrl.out() + fromUrl.err());
        } finally {
            published.stop(0);
        }

        // (b) one entry rewritten and the chain recomputed: the plain check passes, the checkpoint does not
        List<IssuanceLogEntry> original = f.cp.issuanceLog().list(1, 1000);
        rewriteAndRechain(f, original, 2, "forged-node");
        Run plain = cli(f, "log", "verify");
        assertEquals(0, plain.exit(), "the attacker's recomputed chain fools the plain check: " + plain.out());
        Run rewritten = cli(f, "log", "verify", "--checkpoint", saved.toString(), "--ca-root", root);
        assertEquals(1, rewritten.exit(), rewritten.out() + rewritten.err());
        assertTrue(rewritten.out().startsWith("REWRITTEN: entry " + size + " hashes to "), rewritten.out());
        assertTrue(rewritten.out().contains("the log was rewritten at or before entry " + size), rewritten.out());
        Run rewrittenJson = cli(f, "log", "verify", "--checkpoint", saved.toString(), "--ca-root", root, "-o", "json");
        assertEquals(1, rewrittenJson.exit());
        assertEquals("REWRITTEN", JSON.readTree(rewrittenJson.out()).path("outcome").asText(), rewrittenJson.out());
        assertEquals(size, JSON.readTree(rewrittenJson.out()).path("sequence").asLong(), rewrittenJson.out());
        Run refusedRewrite = cli(f, "log", "checkpoint", "--create");
        assertEquals(1, refusedRewrite.exit(), "the control plane does not sign over a rewrite");
        assertTrue(refusedRewrite.err().contains("409") && refusedRewrite.err().contains("rewritten"), refusedRewrite.err());
        restore(f, original);
        assertEquals(0, cli(f, "log", "verify", "--checkpoint", saved.toString(), "--ca-root", root).exit(),
                "the original rows verify again");

        // (a) the tail truncated: the plain check passes on the shorter chain, the checkpoint does not
        execute(f, "DELETE FROM issuance_log WHERE seq > 2");
        assertEquals(0, cli(f, "log", "verify").exit(), "two entries still chain");
        Run truncated = cli(f, "log", "verify", "--checkpoint", saved.toString(), "--ca-root", root);
        assertEquals(1, truncated.exit(), truncated.out() + truncated.err());
        assertTrue(truncated.out().startsWith("TRUNCATED: the log has 2 entries but the checkpoint of "), truncated.out());
        assertTrue(truncated.out().contains("covers " + size + ": entries 3.." + size + " were removed (log truncated)"),
                truncated.out());
        Run refusedTruncation = cli(f, "log", "checkpoint", "--create");
        assertEquals(1, refusedTruncation.exit());
        assertTrue(refusedTruncation.err().contains("truncated"), refusedTruncation.err());

        // and a checkpoint file changed by one byte is refused before the log is even read
        String text = Files.readString(saved);
        Path forged = f.dir.resolve("forged.txt");
        Files.writeString(forged, text.replaceFirst("\n" + size + "\n", "\n2\n"));
        Run bad = cli(f, "log", "verify", "--checkpoint", forged.toString(), "--ca-root", root);
        assertEquals(1, bad.exit());
        assertTrue(bad.out().startsWith("BAD CHECKPOINT: the checkpoint signature by attestmesh.local/attestmesh/"
                + "issuance-log does not verify"), bad.out());
        Run badJson = cli(f, "log", "verify", "--checkpoint", forged.toString(), "--ca-root", root, "-o", "json");
        assertEquals(1, badJson.exit());
        assertEquals("BAD_CHECKPOINT", JSON.readTree(badJson.out()).path("outcome").asText(), badJson.out());
    }

    /** What an attacker with write access to the table does: change entry {@code seq}, recompute every later link. */
    private static void rewriteAndRechain(ControlPlaneFixture f, List<IssuanceLogEntry> entries, long seq, String node)
            throws Exception {
        String prev = entries.get((int) seq - 2).hashHex();
        try (var c = f.cp.database().connection(); PreparedStatement ps = c.prepareStatement(
                "UPDATE issuance_log SET node_id = ?, previous_hash = ?, entry_hash = ? WHERE seq = ?")) {
            for (IssuanceLogEntry e : entries.subList((int) seq - 1, entries.size())) {
                String n = e.sequence() == seq ? node : e.nodeId();
                String hash = IssuanceLog.hash(e.sequence(), e.serialHex(), n, e.spiffeId(), e.evidenceSha256Hex(),
                        e.policyIds(), e.issuedAt(), prev);
                ps.setString(1, n);
                ps.setString(2, prev);
                ps.setString(3, hash);
                ps.setLong(4, e.sequence());
                assertEquals(1, ps.executeUpdate());
                prev = hash;
            }
        }
    }

    private static void restore(ControlPlaneFixture f, List<IssuanceLogEntry> entries) throws Exception {
        try (var c = f.cp.database().connection(); PreparedStatement ps = c.prepareStatement(
                "UPDATE issuance_log SET node_id = ?, previous_hash = ?, entry_hash = ? WHERE seq = ?")) {
            for (IssuanceLogEntry e : entries) {
                ps.setString(1, e.nodeId());
                ps.setString(2, e.previousHashHex());
                ps.setString(3, e.hashHex());
                ps.setLong(4, e.sequence());
                assertEquals(1, ps.executeUpdate());
            }
        }
    }

    private static void execute(ControlPlaneFixture f, String sql) throws Exception {
        try (var c = f.cp.database().connection(); PreparedStatement ps = c.prepareStatement(sql)) {
            assertTrue(ps.executeUpdate() > 0, sql);
        }
    }

    @Test
    void viewersReadCheckpointsOnlyOperatorsSignThem() throws Exception {
        try (ControlPlaneFixture f = start("0s", Map.of()); HttpClient http = HttpClient.newHttpClient()) {
            String base = adminUrl(f);
            String viewer = token(http, base, "auditor", "viewer");
            String operator = token(http, base, "oncall", "operator");
            assertEquals(404, send(http, base, "GET", "/api/v1/issuance-log/checkpoints/latest", viewer).statusCode(),
                    "nothing signed yet");
            f.agent("roles-node", GOOD).attestOnce();
            HttpResponse<String> denied = send(http, base, "POST", "/api/v1/issuance-log/checkpoints", viewer);
            assertEquals(403, denied.statusCode());
            assertTrue(denied.body().contains("needs role operator"), denied.body());
            assertEquals(401, send(http, base, "GET", "/api/v1/issuance-log/checkpoints", null).statusCode());
            for (int i = 0; i < 3; i++) {
                HttpResponse<String> created = send(http, base, "POST", "/api/v1/issuance-log/checkpoints", operator);
                assertEquals(201, created.statusCode(), created.body());
            }
            JsonNode latest = JSON.readTree(send(http, base, "GET", "/api/v1/issuance-log/checkpoints/latest", viewer).body());
            assertEquals(3, latest.get("id").asLong());
            assertEquals(f.cp.issuanceLog().head().orElseThrow().hashHex(), latest.get("headHash").asText());
            JsonNode page = JSON.readTree(send(http, base, "GET", "/api/v1/issuance-log/checkpoints?from=1&limit=2", viewer)
                    .body());
            assertEquals(2, page.get("checkpoints").size());
            assertEquals(3, page.get("nextFrom").asLong());
            JsonNode last = JSON.readTree(send(http, base, "GET", "/api/v1/issuance-log/checkpoints?from=3", viewer).body());
            assertEquals(1, last.get("checkpoints").size());
            assertTrue(!last.hasNonNull("nextFrom"), "no next page after the last checkpoint");
            assertEquals(400, send(http, base, "GET", "/api/v1/issuance-log/checkpoints?limit=1001", viewer).statusCode());
            assertEquals(400, send(http, base, "GET", "/api/v1/issuance-log/checkpoints?from=0", viewer).statusCode());
            JsonNode key = JSON.readTree(send(http, base, "GET", "/api/v1/issuance-log/checkpoints/signing-key", viewer)
                    .body());
            assertEquals("attestmesh.local/attestmesh/issuance-log", key.get("keyName").asText());
            assertEquals("Ed25519", key.get("algorithm").asText());
            assertTrue(key.get("verifierKey").asText().startsWith("attestmesh.local/attestmesh/issuance-log+"
                    + key.get("keyId").asText() + "+"));
            opensslVerifiesTheNote(f.dir, latest.get("note").asText(), key);
        }
    }

    /**
     * The documented outside check with nothing but OpenSSL: the signing certificate chains to the root,
     * and its key verifies the signature over the note text; one changed byte of the text fails.
     */
    private static void opensslVerifiesTheNote(Path dir, String note, JsonNode key) throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/openssl")), "openssl is not installed");
        Path rootPem = Files.writeString(dir.resolve("root.pem"), key.get("rootCertificate").asText());
        Path signerPem = Files.writeString(dir.resolve("signer.pem"), key.get("certificate").asText());
        assertTrue(openssl(dir, "verify", "-CAfile", rootPem.toString(), signerPem.toString()).contains(": OK"));
        Path pub = dir.resolve("signer-pub.pem");
        openssl(dir, "x509", "-in", signerPem.toString(), "-pubkey", "-noout", "-out", pub.toString());
        String text = note.substring(0, note.lastIndexOf("\n\n") + 1);
        String sigB64 = note.substring(note.lastIndexOf(' ') + 1).strip();
        byte[] sig = Base64.getDecoder().decode(sigB64);
        Path sigFile = Files.write(dir.resolve("sig.bin"), Arrays.copyOfRange(sig, 4, sig.length));
        Path textFile = Files.writeString(dir.resolve("text.bin"), text, StandardCharsets.UTF_8);
        assertTrue(openssl(dir, "pkeyutl", "-verify", "-pubin", "-inkey", pub.toString(), "-rawin", "-in",
                textFile.toString(), "-sigfile", sigFile.toString()).contains("Signature Verified Successfully"));
        Files.writeString(textFile, text.replaceFirst("\n", "x\n"), StandardCharsets.UTF_8);
        assertTrue(openssl(dir, "pkeyutl", "-verify", "-pubin", "-inkey", pub.toString(), "-rawin", "-in",
                textFile.toString(), "-sigfile", sigFile.toString()).contains("Signature Verification Failure"));
    }

    private static String openssl(Path dir, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("openssl " + String.join(" ", args) + " did not finish in 30 s");
        }
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }

    @Test
    void theScheduleSignsOnlyWhenTheLogGrew() throws Exception {
        try (ControlPlaneFixture f = start("1s", Map.of())) {
            Thread.sleep(2_500);
            assertEquals(0L, checkpoints(f), "an empty log is not checkpointed");
            f.agent("scheduled-node", GOOD).attestOnce();
            long size = f.cp.issuanceLog().head().orElseThrow().sequence();
            long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            while (checkpoints(f) == 0 && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            Run latest = cli(f, "log", "checkpoint");
            assertEquals(0, latest.exit(), latest.out() + latest.err());
            assertTrue(latest.out().startsWith("attestmesh.local/attestmesh/issuance-log\n" + size + "\n"), latest.out());
            Thread.sleep(2_500);
            assertEquals(1L, checkpoints(f), "the log did not grow: no new checkpoint");
        }
    }

    private static long checkpoints(ControlPlaneFixture f) {
        return f.cp.database().inTransaction(c -> {
            try (var ps = c.prepareStatement("SELECT COUNT(*) FROM issuance_log_checkpoints"); var rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }

    private static String token(HttpClient http, String base, String name, String role) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/tokens"))
                .header("Authorization", "Bearer " + TOKEN).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"" + name + "\",\"role\":\"" + role + "\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(201, r.statusCode(), r.body());
        return JSON.readTree(r.body()).get("token").asText();
    }

    private static HttpResponse<String> send(HttpClient http, String base, String method, String path, String token)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
