package dev.attestmesh.server.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.Comparator;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** {@code /api/v1/mesh} on the Micronaut application, with the mesh file given at start. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MeshControllerTest {
    static final String MESH = """
            services:
              - name: orders
                members: {nodes: [orders-1]}
                ingress: [{port: 8443, appPort: 8080, policies: [default]}]
            """;

    Path dir;
    ApplicationContext ctx;
    String base;

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("attestmesh-mesh-api");
        Files.writeString(dir.resolve("policies.yaml"), TestMesh.POLICIES);
        Files.writeString(dir.resolve("mesh.yaml"), MESH);
        ctx = Micronaut.build(new String[0]).banner(false).properties(Map.of(
                "attestmesh.data-dir", dir.resolve("cp").toString(),
                "attestmesh.grpc-bind", "127.0.0.1",
                "attestmesh.grpc-port", 0,
                "attestmesh.admin-port", 0,
                "attestmesh.ca-key", "mesh-api-test-key",
                "attestmesh.admin.token", TOKEN,
                "attestmesh.dev-mode", true,
                "attestmesh.policy-file", dir.resolve("policies.yaml").toString(),
                "attestmesh.registration-file", dev.attestmesh.server.testing.TestMesh.writeRegistrations(dir).toString(),
                "attestmesh.mesh-file", dir.resolve("mesh.yaml").toString())).start();
        base = "http://127.0.0.1:" + ctx.getBean(EmbeddedServer.class).getPort() + "/api/v1/mesh";
    }

    @AfterAll
    void stop() throws Exception {
        if (ctx != null) {
            ctx.close();
        }
        try (var s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    static final String TOKEN = "mesh-controller-test-admin-token";

    HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
        try (HttpClient c = HttpClient.newHttpClient()) {
            return c.send(b.header("Authorization", "Bearer " + TOKEN).build(), HttpResponse.BodyHandlers.ofString());
        }
    }

    @Test
    void getShowsTheMeshFileLoadedAtStartAndPutReplacesItOrListsEveryProblem() throws Exception {
        HttpResponse<String> got = send(HttpRequest.newBuilder(URI.create(base)));
        assertEquals(200, got.statusCode());
        assertTrue(got.body().contains("\"version\":1"), got.body());
        assertTrue(got.body().contains("\"services\":1"), got.body());
        assertTrue(got.body().contains("name: orders"), got.body());

        HttpResponse<String> rejected = send(HttpRequest.newBuilder(URI.create(base))
                .header("Content-Type", "application/yaml")
                .PUT(HttpRequest.BodyPublishers.ofString(MESH.replace("[default]", "[gold]").replace("8080", "0"))));
        assertEquals(400, rejected.statusCode(), rejected.body());
        assertTrue(rejected.body().contains("services[0].ingress[0].appPort: must be a port number 1..65535, got 0"),
                rejected.body());
        assertTrue(rejected.body().contains("services[0].ingress[0].policies[0]: unknown policy ID 'gold'"),
                rejected.body());
        assertEquals(1, ctx.getBean(ControlPlane.class).mesh().current().version(), "nothing changed");

        String next = MESH + """
                  - name: payments
                    members: {nodes: [payments-1]}
                    egress: [{port: 7001, service: orders, policies: [strict]}]
                """;
        HttpResponse<String> accepted = send(HttpRequest.newBuilder(URI.create(base))
                .header("Content-Type", "application/yaml").PUT(HttpRequest.BodyPublishers.ofString(next)));
        assertEquals(200, accepted.statusCode(), accepted.body());
        assertTrue(accepted.body().contains("\"version\":2"), accepted.body());
        assertEquals(2, ctx.getBean(ControlPlane.class).mesh().current().config().services().size());
    }
}
