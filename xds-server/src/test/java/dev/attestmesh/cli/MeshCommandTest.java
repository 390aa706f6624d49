package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code attestmesh mesh get|apply} against a recording admin API on loopback. */
class MeshCommandTest {
    record Seen(String method, String path, String authorization, String contentType, String body) {}

    HttpServer admin;
    final List<Seen> seen = new CopyOnWriteArrayList<>();
    volatile int status = 200;
    volatile String answer = "{\"version\":1}";
    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    @BeforeEach
    void start() throws Exception {
        admin = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        admin.createContext("/", ex -> {
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            seen.add(new Seen(ex.getRequestMethod(), ex.getRequestURI().getPath(),
                    String.valueOf(ex.getRequestHeaders().getFirst("Authorization")),
                    String.valueOf(ex.getRequestHeaders().getFirst("Content-Type")), body));
            byte[] b = answer.getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(status, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        admin.start();
    }

    @AfterEach
    void stop() {
        admin.stop(0);
    }

    int run(Map<String, String> env, String... args) {
        CommandLine cl = new CommandLine(new AttestMeshCli())
                .setDefaultValueProvider(new EnvironmentDefaultProvider(env, new Properties()));
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        cl.getSubcommands().get("mesh").getSubcommands().values().forEach(c -> {
            c.setOut(new PrintWriter(out, true));
            c.setErr(new PrintWriter(err, true));
        });
        return cl.execute(args);
    }

    String url() {
        return "http://127.0.0.1:" + admin.getAddress().getPort();
    }

    @Test
    void getSendsTheBearerTokenFromTheEnvironmentAndPrintsTheAnswer() {
        int code = run(Map.of("ATTESTMESH_ADMIN_TOKEN", "t0ken"), "mesh", "get", "-o", "json", "--admin", url());
        assertEquals(0, code, err.toString());
        assertEquals(new Seen("GET", "/api/v1/mesh", "Bearer t0ken", "null", ""), seen.getFirst());
        assertTrue(out.toString().replaceAll("\\s", "").contains("{\"version\":1}"), out.toString());
    }

    @Test
    void applyPutsTheFileAsYamlAndFailsWithTheServersProblemsWhenRejected(@TempDir Path tmp) throws Exception {
        Path file = Files.writeString(tmp.resolve("mesh.yaml"), "services: []\n");
        assertEquals(0, run(Map.of(), "mesh", "apply", file.toString(), "--admin", url() + "/", "--token", "abc"));
        assertEquals(new Seen("PUT", "/api/v1/mesh", "Bearer abc", "application/yaml", "services: []\n"),
                seen.getFirst());

        status = 400;
        answer = "{\"problems\":[\"services[0].name: required\"]}";
        assertEquals(1, run(Map.of(), "mesh", "apply", file.toString(), "--admin", url(), "--token", "abc"));
        assertTrue(err.toString().contains("answered 400"), err.toString());
        assertTrue(err.toString().contains("services[0].name: required"), err.toString());

        status = 401;
        assertEquals(1, run(Map.of(), "mesh", "get", "--admin", url(), "--token", "wrong"));
        assertTrue(err.toString().contains("--token or ATTESTMESH_ADMIN_TOKEN"), err.toString());
    }
}
