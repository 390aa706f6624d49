package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.attestmesh.issuance.IssuanceLog;
import dev.attestmesh.server.secrets.SecretVault;
import dev.attestmesh.server.store.Database;
import dev.attestmesh.server.store.JdbcIssuanceLogStore;
import dev.attestmesh.server.testing.TestMesh;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code attestmesh ca rekey} against a real server process on an H2 data directory: refused while the server runs
 * (H2's file lock), then after SIGTERM re-seals under the new key; the server started with the old key refuses to
 * start with its existing message, and started with the new key serves the same root, a verifying issuance log and
 * a secret that still opens.
 */
class CaRekeyProcessTest {
    static final String OLD = "rekey-process-old-key-0123456789";
    static final String NEW = "rekey-process-new-key-9876543210";
    static final ObjectMapper JSON = new ObjectMapper();
    static final byte[] VALUE = "rekey-process-secret-value".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;
    private final List<Process> processes = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @AfterEach
    void stop() throws Exception {
        for (Process p : processes) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void rekeyRefusedWhileTheServerRunsThenTheRestartedServerOpensTheSameCaWithTheNewKeyOnly() throws Exception {
        Path data = dir.resolve("data");
        Files.writeString(dir.resolve("policies.yaml"), TestMesh.POLICIES);
        Path oldKeyFile = Files.writeString(dir.resolve("old.key"), OLD + "\n");
        Path newKeyFile = Files.writeString(dir.resolve("new.key"), NEW + "\n");

        Process first = server("first", OLD, data);
        int admin = adminPort(first, dir.resolve("first.log"));
        String token = Files.readString(data.resolve("admin-token")).strip();
        String rootBefore = Files.readString(data.resolve("ca-bundle.pem")); // root and intermediate, as served
        HttpResponse<String> put = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin
                + "/api/v1/secrets/db-password")).header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(
                        "{\"value\":\"" + Base64.getEncoder().encodeToString(VALUE) + "\",\"allow\":[\"policy:default\"]}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, put.statusCode(), put.body());

        // live: H2's file lock keeps the rekey out
        Process live = rekey("live", data, oldKeyFile, newKeyFile);
        assertTrue(live.waitFor(60, TimeUnit.SECONDS));
        String liveLog = Files.readString(dir.resolve("live.log"));
        assertEquals(1, live.exitValue(), liveLog);
        assertTrue(liveLog.contains("a control plane is probably still running on it (H2 holds a file lock"), liveLog);

        first.destroy(); // SIGTERM
        assertTrue(first.waitFor(15, TimeUnit.SECONDS));
        Process done = rekey("rekey", data, oldKeyFile, newKeyFile);
        assertTrue(done.waitFor(60, TimeUnit.SECONDS));
        String rekeyLog = Files.readString(dir.resolve("rekey.log"));
        assertEquals(0, done.exitValue(), rekeyLog);
        assertTrue(rekeyLog.contains("1 secret version(s)"), rekeyLog);
        assertFalse(rekeyLog.contains(OLD) || rekeyLog.contains(NEW), "a key was printed");

        Process refused = server("refused", OLD, data);
        assertTrue(refused.waitFor(60, TimeUnit.SECONDS), "a server with the old key stops");
        String refusedLog = Files.readString(dir.resolve("refused.log"));
        assertTrue(refusedLog.contains("cannot open the stored mesh CA") && refusedLog.contains("ATTESTMESH_CA_KEY"),
                refusedLog);

        Process second = server("second", NEW, data);
        int admin2 = adminPort(second, dir.resolve("second.log"));
        assertEquals(rootBefore, Files.readString(data.resolve("ca-bundle.pem")), "the same root and intermediate");
        JsonNode verify = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin2
                + "/api/v1/issuance-log/verify")).header("Authorization", "Bearer " + token)
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString()).body());
        assertTrue(verify.path("intact").asBoolean(), verify.toString());
        second.destroy();
        assertTrue(second.waitFor(15, TimeUnit.SECONDS));
        try (Database db = Database.embedded(data)) {
            assertTrue(new IssuanceLog(new JdbcIssuanceLogStore(db)).verify().intact());
            SecretVault vault = SecretVault.fromCaKey(NEW.toCharArray());
            db.inTransaction(c -> {
                try (Statement s = c.createStatement();
                        ResultSet rs = s.executeQuery("SELECT name, version, sealed FROM secret_versions")) {
                    assertTrue(rs.next());
                    assertArrayEquals(VALUE, vault.open(rs.getString(1), rs.getLong(2), rs.getBytes(3)));
                }
                return null;
            });
        }
    }

    private Process server(String name, String key, Path data) throws Exception {
        return start(name, Map.of("ATTESTMESH_CA_KEY", key), "server", "--dev", "--data-dir", data.toString(),
                "--grpc-bind", "127.0.0.1", "--grpc-port", "0", "--admin-port", "0", "--policy-file",
                dir.resolve("policies.yaml").toString());
    }

    private Process rekey(String name, Path data, Path oldKey, Path newKey) throws Exception {
        return start(name, Map.of(), "ca", "rekey", "--data-dir", data.toString(), "--old-key-file", oldKey.toString(),
                "--new-key-file", newKey.toString());
    }

    private Process start(String name, Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), AttestMeshCli.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log")
                .toFile());
        pb.environment().put("ATTESTMESH_TEST_LOG_LEVEL", "INFO");
        pb.environment().remove("ATTESTMESH_CA_KEY");
        pb.environment().remove("ATTESTMESH_ADMIN_TOKEN");
        pb.environment().remove("ATTESTMESH_DATABASE_URL");
        pb.environment().remove("ATTESTMESH_CONFIG");
        pb.environment().putAll(env);
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    private static int adminPort(Process p, Path log) throws Exception {
        Pattern admin = Pattern.compile("admin API on http://127\\.0\\.0\\.1:(\\d+)");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            Matcher m = admin.matcher(Files.readString(log));
            if (m.find()) {
                Thread.sleep(500); // the admin API answers right after it logs its port
                return Integer.parseInt(m.group(1));
            }
            if (!p.isAlive()) {
                throw new AssertionError("server exited " + p.exitValue() + ":\n" + Files.readString(log));
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no admin port within 120 s:\n" + Files.readString(log));
    }
}
