package dev.attestmesh.server.admin.console;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.testing.TestMesh;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A real control plane for the console tests: Micronaut admin HTTP and gRPC on loopback with ephemeral ports,
 * the simulated TEE allowed (dev mode), an admin token, viewer and operator tokens, and nodes attested by real
 * node agents over gRPC.
 */
final class ConsoleTestPlane implements AutoCloseable {
    static final String ADMIN_TOKEN = "console-test-admin-token-0123456789";
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MESH = """
            services:
              - name: web
                members: {nodes: [web-1]}
                ingress: [{port: 8443, appPort: 8080, protocol: http, policies: [default]}]
                egress: [{port: 9001, service: api, servicePort: 9443, policies: [strict]}]
              - name: api
                members: {nodes: [web-2]}
                ingress: [{port: 9443, appPort: 9090, policies: [default]}]
            """;

    final Path dir;
    final ApplicationContext ctx;
    final ControlPlane cp;
    final String base;
    final HttpClient http = HttpClient.newHttpClient();
    final String viewer;
    final String operator;

    ConsoleTestPlane(Map<String, Object> extra) throws Exception {
        dir = Files.createTempDirectory("attestmesh-console");
        Path policies = Files.writeString(dir.resolve("policies.yaml"), TestMesh.POLICIES);
        Path mesh = Files.writeString(dir.resolve("mesh.yaml"), MESH);
        Map<String, Object> props = new HashMap<>(Map.of(
                "attestmesh.data-dir", dir.resolve("cp").toString(),
                "attestmesh.grpc-bind", "127.0.0.1",
                "attestmesh.grpc-port", 0,
                "attestmesh.admin-port", 0,
                "attestmesh.ca-key", "console-test-key",
                "attestmesh.dev-mode", true,
                "attestmesh.admin.token", ADMIN_TOKEN,
                "attestmesh.policy-file", policies.toString(),
                "attestmesh.registration-file", TestMesh.writeRegistrations(dir).toString(),
                "attestmesh.mesh-file", mesh.toString()));
        props.putAll(extra);
        ctx = Micronaut.build(new String[0]).banner(false).properties(props).start();
        cp = ctx.getBean(ControlPlane.class);
        base = "http://127.0.0.1:" + ctx.getBean(EmbeddedServer.class).getPort();
        viewer = createToken("dashboards", "viewer");
        operator = createToken("oncall", "operator");
    }

    /** Attests {@code id} with the simulated TEE and the measurement {@code default} accepts. */
    void attest(String id) throws Exception {
        new NodeAgent(new NodeAgent.Settings(id, "127.0.0.1:" + cp.grpcPort(),
                dev.attestmesh.ca.Pem.parseCertificates(Files.readString(cp.caBundleFile())),
                dir.resolve("nodes").resolve(id), Optional.empty(), Optional.empty()),
                SimulatedTee.withMeasurementHex(TestMesh.GOOD), Clock.systemUTC()).attestOnce();
    }

    String createToken(String name, String role) throws Exception {
        HttpResponse<String> r = send("POST", "/api/v1/tokens", ADMIN_TOKEN, "application/json",
                "{\"name\":\"" + name + "\",\"role\":\"" + role + "\"}");
        assertEquals(201, r.statusCode(), r.body());
        return JSON.readTree(r.body()).get("token").asText();
    }

    HttpResponse<String> send(String method, String path, String token, String contentType, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path, String token) throws Exception {
        return send("GET", path, token, null, null);
    }

    @Override
    public void close() throws Exception {
        http.close();
        ctx.close();
        try (var s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
