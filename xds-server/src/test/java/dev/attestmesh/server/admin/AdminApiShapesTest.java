package dev.attestmesh.server.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.server.ControlPlane;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The admin port's error shapes (404, 405, 413 with the {@link ApiError} body everywhere), the dry runs of
 * policy, registration, mesh and revocation writes, and the committed OpenAPI document, against a running
 * control plane on loopback with one attested simulated node.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdminApiShapesTest {
    static final String GOOD = "a1".repeat(48);
    static final String OTHER = "b2".repeat(48);
    static final String TOKEN = "admin-api-shapes-token-0123456789";
    static final ObjectMapper JSON = new ObjectMapper();
    /** The committed document, read in place from the checkout. */
    static final Path COMMITTED = Path.of("../docs/openapi.yaml");

    Path dir;
    ApplicationContext ctx;
    ControlPlane cp;
    String base;
    int port;
    HttpClient http;

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("attestmesh-shapes");
        Path policies = dir.resolve("policies.yaml");
        Files.writeString(policies, AdminApiTest.policyDocument("default", GOOD));
        ctx = Micronaut.build(new String[0]).banner(false).properties(Map.of(
                "attestmesh.data-dir", dir.resolve("cp").toString(),
                "attestmesh.grpc-bind", "127.0.0.1",
                "attestmesh.grpc-port", 0,
                "attestmesh.admin-port", 0,
                "attestmesh.ca-key", "shapes-test-key",
                "attestmesh.dev-mode", true,
                "attestmesh.admin.token", TOKEN,
                "attestmesh.policy-file", policies.toString(),
                "attestmesh.registration-file", dev.attestmesh.server.testing.TestMesh.writeRegistrations(dir).toString()))
                .start();
        cp = ctx.getBean(ControlPlane.class);
        port = ctx.getBean(EmbeddedServer.class).getPort();
        base = "http://127.0.0.1:" + port;
        http = HttpClient.newHttpClient();
        new NodeAgent(new NodeAgent.Settings("shape-1", "127.0.0.1:" + cp.grpcPort(),
                dev.attestmesh.ca.Pem.parseCertificates(Files.readString(cp.caBundleFile())),
                dir.resolve("nodes").resolve("shape-1"), Optional.empty(), Optional.empty()),
                SimulatedTee.withMeasurementHex(GOOD), Clock.systemUTC()).attestOnce();
    }

    @AfterAll
    void stop() throws Exception {
        http.close();
        if (ctx != null) {
            ctx.close();
        }
        try (var s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    HttpResponse<String> send(String method, String path, String contentType, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).header("Authorization", "Bearer " + TOKEN);
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The body is exactly the ApiError shape: {@code error} (text) and {@code problems} (array), nothing else. */
    static JsonNode assertApiError(HttpResponse<String> r, int status) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), r.headers().toString());
        JsonNode n = JSON.readTree(r.body());
        assertTrue(n.path("error").isTextual() && !n.path("error").asText().isBlank(), r.body());
        assertTrue(n.path("problems").isArray(), r.body());
        assertEquals(2, n.size(), "only error and problems: " + r.body());
        return n;
    }

    @Test
    void unknownRoutesAnswer404WithTheApiErrorBodyOnEveryPartOfTheAdminPort() throws Exception {
        for (String path : List.of("/api/v1/no-such-thing", "/api/v1/nodes/x/y/z", "/.well-known/attestmesh/nope",
                "/nope", "/health/nope")) {
            JsonNode n = assertApiError(send("GET", path, null, null), 404);
            assertTrue(n.path("error").asText().contains("no such resource"), n.toString());
        }
        // caller text is echoed only cut and printable
        JsonNode n = assertApiError(send("GET", "/nope-%1B%5B31m-" + "x".repeat(1000), null, null), 404);
        assertFalse(n.path("error").asText().contains("\u001b"), n.toString());
        assertTrue(n.path("error").asText().length() < 600, n.toString());
    }

    @Test
    void wrongMethodsAnswer405WithTheApiErrorBody() throws Exception {
        JsonNode n = assertApiError(send("PATCH", "/api/v1/policies", "application/yaml", "x"), 405);
        assertTrue(n.path("error").asText().contains("method not allowed"), n.toString());
        assertApiError(send("DELETE", "/api/v1/nodes", null, null), 405);
        assertApiError(send("POST", "/health", "application/json", "{}"), 405);
        assertApiError(send("PUT", "/.well-known/attestmesh/manifest", "application/json", "{}"), 405);
    }

    @Test
    void oversizedBodiesAnswer413WhetherTheLengthIsDeclaredOrStreamed() throws Exception {
        String big = "policies: []\n#" + "x".repeat(1024 * 1024 + 10);
        JsonNode declared = assertApiError(send("POST", "/api/v1/policies", "application/yaml", big), 413);
        assertTrue(declared.path("error").asText().contains("1 MiB"), declared.toString());
        assertApiError(send("PUT", "/api/v1/mesh", "application/yaml", big), 413);
        assertApiError(send("POST", "/api/v1/revocations", "application/json",
                "{\"kind\":\"node\",\"value\":\"" + "n".repeat(1024 * 1024 + 10) + "\"}"), 413);
        // chunked: no Content-Length, so the limit can only be seen while reading (a real socket, bounded)
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            OutputStream o = s.getOutputStream();
            o.write(("POST /api/v1/policies HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TOKEN
                    + "\r\nContent-Type: application/yaml\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            byte[] chunk = "#".repeat(64 * 1024).getBytes(StandardCharsets.US_ASCII);
            try {
                for (int i = 0; i < 20; i++) { // 1.25 MiB, then the end
                    o.write((Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    o.write(chunk);
                    o.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                }
                o.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                o.flush();
            } catch (java.io.IOException closedEarly) {
                // the server may answer and close before the whole body is sent
            }
            InputStream in = s.getInputStream();
            StringBuilder got = new StringBuilder();
            byte[] buf = new byte[4096];
            // the connection may stay open: read until the JSON body has arrived (bounded by the socket timeout)
            while (got.indexOf("\r\n\r\n") < 0 || got.lastIndexOf("}") < got.indexOf("\r\n\r\n")) {
                int n = in.read(buf);
                if (n < 0) {
                    break;
                }
                got.append(new String(buf, 0, n, StandardCharsets.UTF_8));
            }
            String answer = got.toString();
            assertTrue(answer.startsWith("HTTP/1.1 413"), answer);
            assertTrue(answer.contains("\"error\"") && answer.contains("1 MiB"), answer);
        }
        assertTrue(cp.policies().get("default").isPresent(), "nothing changed");
    }

    @Test
    void policyDryRunShowsTheNodesThatWouldLoseThePolicyAndStoresNothing() throws Exception {
        long version = cp.policies().version("default").orElseThrow();
        HttpResponse<String> r = send("POST", "/api/v1/policies?dryRun=true", "application/yaml",
                AdminApiTest.policyDocument("default", OTHER));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode n = JSON.readTree(r.body());
        assertTrue(n.path("dryRun").asBoolean(), r.body());
        JsonNode change = n.path("changes").get(0);
        assertEquals("updated", change.path("change").asText(), r.body());
        assertTrue(change.path("before").asText().contains(GOOD) && change.path("after").asText().contains(OTHER), r.body());
        JsonNode node = n.path("nodes").get(0);
        assertEquals("shape-1", node.path("nodeId").asText(), r.body());
        assertEquals("loses-identity", node.path("effect").asText(), r.body());
        assertEquals(List.of("default"), JSON.convertValue(node.path("policiesLost"), List.class), r.body());
        assertEquals(version, cp.policies().version("default").orElseThrow(), "stored nothing");
        assertEquals(NodeState.ATTESTED, cp.registry().entry("shape-1").orElseThrow().state(), "no node changed");

        JsonNode same = JSON.readTree(send("PUT", "/api/v1/policies/default?dryRun=true", "application/yaml",
                AdminApiTest.policyDocument("default", GOOD)).body());
        assertEquals("unchanged", same.path("changes").get(0).path("change").asText(), same.toString());
        assertEquals(0, same.path("nodes").size(), same.toString());
        JsonNode delete = JSON.readTree(send("DELETE", "/api/v1/policies/default?dryRun=true", null, null).body());
        assertEquals("deleted", delete.path("changes").get(0).path("change").asText(), delete.toString());
        assertEquals("shape-1", delete.path("nodes").get(0).path("nodeId").asText(), delete.toString());
        assertTrue(cp.policies().get("default").isPresent());
        // a dry run validates fully: an invalid document is refused as a write would be
        assertApiError(send("POST", "/api/v1/policies?dryRun=true", "application/yaml",
                "policies:\n  - id: x\n    tee: [quantum]\n"), 400);
    }

    @Test
    void registrationDryRunShowsIdentityLossAndValidatesTheWholeSet() throws Exception {
        JsonNode n = JSON.readTree(send("DELETE", "/api/v1/registrations/" + firstRegistration() + "?dryRun=true", null,
                null).body());
        assertEquals("deleted", n.path("changes").get(0).path("change").asText(), n.toString());
        assertEquals("loses-identity", n.path("nodes").get(0).path("effect").asText(), n.toString());
        assertTrue(n.path("nodes").get(0).path("detail").asText().contains("removed"), n.toString());
        assertEquals(NodeState.ATTESTED, cp.registry().entry("shape-1").orElseThrow().state());
        JsonNode bad = assertApiError(send("POST", "/api/v1/registrations?dryRun=true", "application/yaml",
                "registrations:\n  - id: r2\n    spiffeId: spiffe://attestmesh.local/x\n    policies: [missing]\n"), 400);
        assertTrue(bad.toString().contains("missing"), bad.toString());
    }

    String firstRegistration() {
        return cp.registrations().all().iterator().next().id();
    }

    @Test
    void revocationDryRunNamesTheNodesItWouldRevokeAndRevokesNone() throws Exception {
        HttpResponse<String> r = send("POST", "/api/v1/revocations?dryRun=true", "application/json",
                "{\"kind\":\"measurement\",\"value\":\"" + GOOD + "\",\"reason\":\"test\"}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode n = JSON.readTree(r.body());
        assertEquals("revoked", n.path("nodes").get(0).path("effect").asText(), r.body());
        assertEquals("shape-1", n.path("nodes").get(0).path("nodeId").asText(), r.body());
        assertTrue(cp.revocations().all().isEmpty(), "no rule stored");
        assertEquals(NodeState.ATTESTED, cp.registry().entry("shape-1").orElseThrow().state());
        assertApiError(send("POST", "/api/v1/revocations?dryRun=true", "application/json",
                "{\"kind\":\"node\",\"value\":\"bad id with spaces\"}"), 400);
        assertApiError(send("DELETE", "/api/v1/revocations/no-such-rule?dryRun=true", null, null), 404);
    }

    @Test
    void meshDryRunValidatesAndListsServiceChangesWithoutApplying() throws Exception {
        long before = cp.mesh().current().version();
        String doc = """
                services:
                  - name: web
                    members: {nodes: [shape-1]}
                    ingress:
                      - {port: 8443, appPort: 8080, policies: [default]}
                """;
        HttpResponse<String> r = send("PUT", "/api/v1/mesh?dryRun=true", "application/yaml", doc);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode n = JSON.readTree(r.body());
        assertTrue(n.toString().contains("service web"), r.body());
        assertEquals("mesh-change", n.path("nodes").get(0).path("effect").asText(), r.body());
        assertTrue(n.path("nodes").get(0).path("detail").asText().contains("web"), r.body());
        assertEquals(before, cp.mesh().current().version(), "nothing stored");
        JsonNode bad = assertApiError(send("PUT", "/api/v1/mesh?dryRun=true", "application/yaml",
                "services:\n  - name: web\n    ingress:\n      - {port: 8443, appPort: 8080, policies: [nope]}\n"), 400);
        assertFalse(bad.path("problems").isEmpty(), bad.toString());
    }

    /**
     * The served OpenAPI document equals the committed {@code docs/openapi.yaml}. After changing a route,
     * regenerate it with {@code ./mvnw -B -o -pl xds-server -am test -Dtest=AdminApiShapesTest
     * -Dsurefire.failIfNoSpecifiedTests=false -Dattestmesh.openapi.update=true} and commit the file.
     */
    @Test
    void servedOpenApiDocumentIsTheCommittedOneAndDescribesEveryBody() throws Exception {
        HttpResponse<String> r = send("GET", "/openapi.yaml", null, null);
        assertEquals(200, r.statusCode());
        String served = r.body();
        if (Boolean.getBoolean("attestmesh.openapi.update")) {
            Files.writeString(COMMITTED, served);
        }
        assertTrue(Files.exists(COMMITTED), "docs/openapi.yaml is missing; " + HOW_TO_REGENERATE);
        assertEquals(Files.readString(COMMITTED), served, "the served OpenAPI document differs from docs/openapi.yaml; "
                + HOW_TO_REGENERATE);
        JsonNode doc = new YAMLMapper().readTree(served);
        doc.path("paths").properties().forEach(p -> p.getValue().properties().forEach(op -> {
            String where = op.getKey() + " " + p.getKey();
            op.getValue().path("responses").properties().forEach(resp -> {
                boolean noBody = resp.getKey().equals("204");
                if (!noBody) {
                    assertTrue(resp.getValue().path("content").properties().iterator().hasNext(), where + " "
                            + resp.getKey() + " has no body schema");
                    resp.getValue().path("content").properties().forEach(c -> assertFalse(
                            c.getValue().path("schema").isMissingNode() || c.getValue().path("schema").isEmpty(),
                            where + " " + resp.getKey() + " " + c.getKey() + " has an empty schema"));
                }
                if (resp.getKey().startsWith("4") || resp.getKey().startsWith("5") || resp.getKey().equals("default")) {
                    assertEquals("#/components/schemas/ApiError", resp.getValue().path("content")
                            .path("application/json").path("schema").path("$ref").asText(), where + " " + resp.getKey());
                }
            });
        }));
        JsonNode put = doc.path("paths").path("/api/v1/policies/{id}").path("put");
        assertTrue(put.toString().contains("DryRunResult") && put.toString().contains("PolicyChange"), put.toString());
        assertTrue(put.path("parameters").toString().contains("dryRun"), put.toString());
    }

    static final String HOW_TO_REGENERATE = "regenerate it with ./mvnw -B -o -pl xds-server -am test "
            + "-Dtest=AdminApiShapesTest -Dsurefire.failIfNoSpecifiedTests=false -Dattestmesh.openapi.update=true "
            + "and commit docs/openapi.yaml";
}
