package dev.attestmesh.server.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ControlPlane;
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
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The admin HTTP API against a running control plane (Micronaut on loopback, ephemeral ports) with one
 * attested simulated node: authentication, roles, every resource, and input limits.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdminApiTest {
    static final String GOOD = "a1".repeat(48);
    static final String ADMIN_TOKEN = "admin-api-test-token-0123456789";
    static final ObjectMapper JSON = new ObjectMapper();

    Path dir;
    ApplicationContext ctx;
    ControlPlane cp;
    String base;
    HttpClient http;
    String viewer;
    String operator;
    NodeAgent web1;
    dev.attestmesh.agent.AgentCredentials web1Creds;

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("attestmesh-admin");
        Path policies = dir.resolve("policies.yaml");
        Files.writeString(policies, policyDocument("default", GOOD));
        ctx = Micronaut.build(new String[0]).banner(false).properties(Map.of(
                "attestmesh.data-dir", dir.resolve("cp").toString(),
                "attestmesh.grpc-bind", "127.0.0.1",
                "attestmesh.grpc-port", 0,
                "attestmesh.admin-port", 0,
                "attestmesh.ca-key", "admin-api-test-key",
                "attestmesh.dev-mode", true, // simulated-TEE nodes
                "attestmesh.admin.token", ADMIN_TOKEN,
                "attestmesh.policy-file", policies.toString(),
                "attestmesh.registration-file", dev.attestmesh.server.testing.TestMesh.writeRegistrations(policies.getParent()).toString())).start();
        cp = ctx.getBean(ControlPlane.class);
        base = "http://127.0.0.1:" + ctx.getBean(EmbeddedServer.class).getPort();
        http = HttpClient.newHttpClient();
        web1 = agent("web-1");
        web1Creds = web1.attestOnce();
        viewer = createToken("dashboards", "viewer");
        operator = createToken("oncall", "operator");
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

    static String policyDocument(String id, String measurement) {
        return """
                policies:
                  - id: %s
                    tee: [sim]
                    reference:
                      sim:
                        measurement: ["%s"]
                """.formatted(id, measurement);
    }

    NodeAgent agent(String id) {
        try {
            return new NodeAgent(new NodeAgent.Settings(id, "127.0.0.1:" + cp.grpcPort(),
                    dev.attestmesh.ca.Pem.parseCertificates(Files.readString(cp.caBundleFile())),
                    dir.resolve("nodes").resolve(id), Optional.empty(), Optional.empty()),
                    SimulatedTee.withMeasurementHex(GOOD), Clock.systemUTC());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
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

    @Test
    void requestsWithoutOrWithWrongCredentialsGet401WithBearerChallenge() throws Exception {
        for (String path : List.of("/api/v1/nodes", "/metrics", "/openapi.yaml", "/api/v1/anything-added-later")) {
            HttpResponse<String> none = get(path, null);
            assertEquals(401, none.statusCode(), path);
            assertTrue(none.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"), path);
            assertEquals(401, get(path, "amt_not-a-real-token").statusCode(), path);
        }
        assertEquals(200, get("/health", null).statusCode(), "health stays open");
    }

    @Test
    void rolesAreEnforcedViewerReadsOperatorWritesAdminRotatesAndManagesTokens() throws Exception {
        assertEquals(200, get("/api/v1/nodes", viewer).statusCode());
        assertEquals(200, get("/metrics", viewer).statusCode());
        HttpResponse<String> denied = send("POST", "/api/v1/revocations", viewer, "application/json",
                "{\"kind\":\"node\",\"value\":\"nobody\"}");
        assertEquals(403, denied.statusCode());
        assertTrue(denied.body().contains("needs role operator"), denied.body());
        assertEquals(403, send("POST", "/api/v1/policies", viewer, "application/yaml", policyDocument("x", GOOD)).statusCode());
        assertEquals(403, send("POST", "/api/v1/ca/rotate-intermediate", operator, "application/json", "{}").statusCode());
        assertEquals(403, send("POST", "/api/v1/tokens", operator, "application/json",
                "{\"name\":\"x\",\"role\":\"admin\"}").statusCode());
        assertEquals(403, get("/api/v1/tokens", operator).statusCode());
        HttpResponse<String> added = send("POST", "/api/v1/revocations", operator, "application/json",
                "{\"kind\":\"node\",\"value\":\"never-attested\",\"reason\":\"test\"}");
        assertEquals(201, added.statusCode(), added.body());
        String ruleId = JSON.readTree(added.body()).path("rule").path("id").asText();
        assertEquals("oncall", JSON.readTree(added.body()).path("rule").path("createdBy").asText());
        assertEquals(200, send("DELETE", "/api/v1/revocations/" + ruleId, operator, null, null).statusCode());
        HttpResponse<String> tokens = get("/api/v1/tokens", ADMIN_TOKEN);
        assertEquals(200, tokens.statusCode());
        assertFalse(tokens.body().contains("amt_"), "token list never shows tokens");
    }

    @Test
    void nodesListShowsAttestationCertificateAndXdsSyncState() throws Exception {
        HttpResponse<String> r = get("/api/v1/nodes", viewer);
        JsonNode node = null;
        for (JsonNode n : JSON.readTree(r.body())) {
            if (n.path("nodeId").asText().equals("web-1")) {
                node = n;
            }
        }
        assertTrue(node != null, r.body());
        assertEquals("spiffe://attestmesh.local/node/web-1", node.path("spiffeId").asText());
        assertEquals("sim", node.path("tee").asText());
        assertEquals("default", node.path("satisfiedPolicies").get(0).path("id").asText());
        assertTrue(node.path("satisfiedPolicies").get(0).path("current").asBoolean());
        assertFalse(node.path("certificateSerial").asText().isEmpty());
        assertEquals("NOT_SENT", node.path("xds").path("type.googleapis.com/envoy.config.listener.v3.Listener")
                .path("state").asText(), "no proxy connected for this node");
        assertEquals(5, node.path("xds").size());

        JsonNode detail = JSON.readTree(get("/api/v1/nodes/web-1", viewer).body());
        assertEquals(GOOD, detail.path("claims").path("measurements").path("measurement").asText());
        assertEquals("UpToDate", detail.path("claims").path("tcbStatus").asText());
        assertTrue(detail.path("certificateChainPem").asText().contains("BEGIN CERTIFICATE"));
        JsonNode report = detail.path("latestAppraisal").path("policies").path(0);
        assertEquals("default", report.path("policyId").asText(), detail.toString());
        assertTrue(report.path("satisfied").asBoolean(), report.toString());
        assertTrue(report.path("rules").size() > 0, "every rule with observed vs expected: " + report);
        assertEquals(404, get("/api/v1/nodes/no-such-node", viewer).statusCode());
    }

    @Test
    void configDumpRendersTheSnapshotWithKeyFileNameAndNoSecretMaterial() throws Exception {
        HttpResponse<String> r = get("/api/v1/nodes/web-1/config-dump", viewer);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode dump = JSON.readTree(r.body());
        assertEquals("web-1", dump.path("nodeId").asText());
        JsonNode secrets = dump.path("secrets").path("resources");
        JsonNode def = null;
        for (JsonNode s : secrets) {
            if (s.path("name").asText().equals("default")) {
                def = s;
            }
        }
        assertTrue(def != null, r.body());
        assertEquals("/var/run/attestmesh/key.pem", def.path("tlsCertificate").path("privateKey").path("filename").asText());
        assertFalse(r.body().contains("PRIVATE KEY"), "no private key material in a config dump");
        assertFalse(r.body().contains("inlineBytes"), "nothing inline besides certificates");
    }

    @Test
    void invalidPolicyDocumentIsRejectedWithEveryProblemAndChangesNothing() throws Exception {
        long before = cp.policies().version("default").orElseThrow();
        HttpResponse<String> r = send("POST", "/api/v1/policies", operator, "application/yaml", """
                policies:
                  - id: default
                    tee: [sim, nonsense]
                    colour: blue
                    reference:
                      sim:
                        measurement: ["zz"]
                  - id: second
                    tee: [sim]
                """);
        assertEquals(400, r.statusCode(), r.body());
        JsonNode problems = JSON.readTree(r.body()).path("problems");
        assertTrue(problems.size() >= 3, r.body());
        assertTrue(r.body().contains("colour"), r.body());
        assertTrue(r.body().contains("nonsense"), r.body());
        assertEquals(before, cp.policies().version("default").orElseThrow(), "nothing half-applied");
        assertTrue(cp.policies().get("second").isEmpty(), "nothing half-applied");
    }

    @Test
    void policiesCanBeCreatedUpdatedReadAndDeleted() throws Exception {
        HttpResponse<String> created = send("POST", "/api/v1/policies", operator, "application/yaml",
                policyDocument("crud", GOOD));
        assertEquals(200, created.statusCode(), created.body());
        assertEquals("created", JSON.readTree(created.body()).get(0).path("change").asText());
        HttpResponse<String> updated = send("PUT", "/api/v1/policies/crud", operator, "application/yaml",
                policyDocument("crud", "b2".repeat(48)));
        assertEquals(200, updated.statusCode(), updated.body());
        assertEquals(2, JSON.readTree(updated.body()).path("version").asLong());
        JsonNode got = JSON.readTree(get("/api/v1/policies/crud", viewer).body());
        assertTrue(got.path("document").asText().contains("b2b2"), got.toString());
        assertEquals(400, send("PUT", "/api/v1/policies/other-id", operator, "application/yaml",
                policyDocument("crud", GOOD)).statusCode(), "URL and document must name the same policy");
        assertEquals(204, send("DELETE", "/api/v1/policies/crud", operator, null, null).statusCode());
        assertEquals(404, get("/api/v1/policies/crud", viewer).statusCode());
        assertTrue(cp.policies().get("default").isPresent(), "other policies are kept");
    }

    @Test
    void revocationThroughTheApiRevokesTheNodeAndDeletionLiftsIt() throws Exception {
        agent("web-2").attestOnce();
        HttpResponse<String> added = send("POST", "/api/v1/revocations", operator, "application/json",
                "{\"kind\":\"node\",\"value\":\"web-2\",\"reason\":\"decommissioned\"}");
        assertEquals(201, added.statusCode(), added.body());
        assertEquals("web-2", JSON.readTree(added.body()).path("revokedNodes").get(0).asText());
        assertEquals(NodeState.REVOKED, cp.registry().entry("web-2").orElseThrow().state());
        assertTrue(get("/api/v1/revocations", viewer).body().contains("decommissioned"));
        String id = JSON.readTree(added.body()).path("rule").path("id").asText();
        HttpResponse<String> removed = send("DELETE", "/api/v1/revocations/" + id, operator, null, null);
        assertEquals("web-2", JSON.readTree(removed.body()).path("liftedNodes").get(0).asText());
        assertEquals(NodeState.EXPIRED, cp.registry().entry("web-2").orElseThrow().state());
        agent("web-2").attestOnce();
        assertEquals(NodeState.ATTESTED, cp.registry().entry("web-2").orElseThrow().state());
        HttpResponse<String> bad = send("POST", "/api/v1/revocations", operator, "application/json",
                "{\"kind\":\"measurement\",\"value\":\"xyz\"}");
        assertEquals(400, bad.statusCode());
        assertTrue(bad.body().contains("hex"), bad.body());
    }

    @Test
    void unknownJsonFieldsAndOversizedBodiesAreRejectedWith400() throws Exception {
        HttpResponse<String> unknown = send("POST", "/api/v1/revocations", operator, "application/json",
                "{\"kind\":\"node\",\"value\":\"n\",\"colour\":\"blue\"}");
        assertEquals(400, unknown.statusCode(), unknown.body());
        assertTrue(unknown.body().contains("colour"), unknown.body());
        assertTrue(cp.revocations().all().stream().noneMatch(r -> r.value().equals("n")));
        String big = "policies: []\n#" + "x".repeat(1024 * 1024 + 10);
        HttpResponse<String> tooBig = send("POST", "/api/v1/policies", operator, "application/yaml", big);
        assertEquals(413, tooBig.statusCode(), tooBig.body());
        assertTrue(tooBig.body().contains("too large"), tooBig.body());
    }

    @Test
    void trustBundleIsServedAsJsonAndPem() throws Exception {
        JsonNode json = JSON.readTree(get("/api/v1/trust-bundle", viewer).body());
        assertEquals("attestmesh.local", json.path("trustDomain").asText());
        assertEquals("root", json.path("certificates").get(0).path("role").asText());
        HttpResponse<String> pem = get("/api/v1/trust-bundle?format=pem", viewer);
        assertTrue(pem.headers().firstValue("Content-Type").orElse("").startsWith("application/x-pem-file"));
        assertEquals(dev.attestmesh.ca.Pem.certificates(cp.trustBundle()), pem.body());
    }

    @Test
    void issuanceLogPagesAndVerifies() throws Exception {
        JsonNode page = JSON.readTree(get("/api/v1/issuance-log?from=1&limit=1", viewer).body());
        assertEquals(1, page.path("entries").size());
        assertEquals(1, page.path("entries").get(0).path("sequence").asLong());
        assertEquals(2, page.path("nextFrom").asLong());
        assertEquals(400, get("/api/v1/issuance-log?limit=5000", viewer).statusCode());
        JsonNode v = JSON.readTree(send("POST", "/api/v1/issuance-log/verify", viewer, null, null).body());
        var expected = cp.issuanceLog().verify();
        assertTrue(expected.intact(), "a fresh log verifies: " + expected);
        assertEquals(expected.intact(), v.path("intact").asBoolean(), v.toString());
        assertEquals(expected.entriesChecked(), v.path("entriesChecked").asLong(), v.toString());
        assertEquals(expected.problem().orElse(""), v.path("problem").asText(""), v.toString());
    }

    @Test
    void rotatingTheIntermediateKeepsTheOldOneDuringOverlapAndRewritesTheBundleFile() throws Exception {
        String oldIntermediate = TrustBundleController.sha256(cp.meshCa().issuingIntermediate());
        HttpResponse<String> r = send("POST", "/api/v1/ca/rotate-intermediate", ADMIN_TOKEN, "application/json",
                "{\"overlap\":\"PT1H\"}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode rotated = JSON.readTree(r.body());
        assertFalse(oldIntermediate.equals(rotated.path("intermediateSha256").asText()));
        assertEquals(3, rotated.path("trustBundleSize").asInt(), "root, new and retired intermediate");
        assertEquals(dev.attestmesh.ca.Pem.certificates(cp.trustBundle()), Files.readString(cp.caBundleFile()));
        agent("after-rotation").attestOnce(); // issuance works with the new intermediate
    }

    @Test
    void controlPlaneAttestationAnswers503OutsideATeeListingWhatWasLookedFor() throws Exception {
        HttpResponse<String> r = send("POST", "/api/v1/attestation", viewer, "application/json",
                "{\"nonce\":\"" + "00".repeat(32) + "\"}");
        org.junit.jupiter.api.Assumptions.assumeTrue(r.statusCode() != 200, "this machine runs in a TEE");
        assertEquals(503, r.statusCode(), r.body());
        assertTrue(r.body().contains("not running in a TEE"), r.body());
        assertTrue(r.body().contains("/dev/sev-guest"), r.body());
        assertEquals(400, send("POST", "/api/v1/attestation", viewer, "application/json", "{\"nonce\":\"abcd\"}").statusCode());
    }

    @Test
    void adsExchangeShowsAsSyncedSecretsConnectedProxyAndPushLatency() throws Exception {
        String secretType = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
        io.grpc.ManagedChannel ch = dev.attestmesh.agent.ControlPlaneChannels.open("127.0.0.1:" + cp.grpcPort(),
                web1Creds.trustBundle(), web1.clientIdentity());
        var responses = new java.util.concurrent.LinkedBlockingQueue<Object>();
        var requests = io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc.newStub(ch)
                .streamAggregatedResources(new io.grpc.stub.StreamObserver<>() {
                    @Override
                    public void onNext(io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse v) {
                        responses.add(v);
                    }

                    @Override
                    public void onError(Throwable t) {
                        responses.add(t);
                    }

                    @Override
                    public void onCompleted() {}
                });
        try {
            var node = io.envoyproxy.envoy.config.core.v3.Node.newBuilder().setId("web-1").setCluster("web").build();
            requests.onNext(io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest.newBuilder().setNode(node)
                    .setTypeUrl(secretType).addAllResourceNames(List.of("default", "ROOTCA")).build());
            Object first = responses.poll(10, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(first instanceof io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse, String.valueOf(first));
            var resp = (io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse) first;
            requests.onNext(io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest.newBuilder().setNode(node)
                    .setTypeUrl(secretType).addAllResourceNames(List.of("default", "ROOTCA"))
                    .setVersionInfo(resp.getVersionInfo()).setResponseNonce(resp.getNonce()).build());
            String state = "";
            for (int i = 0; i < 50 && !state.equals("SYNCED"); i++) {
                JsonNode detail = JSON.readTree(get("/api/v1/nodes/web-1", viewer).body());
                state = detail.path("node").path("xds").path(secretType).path("state").asText();
                if (!state.equals("SYNCED")) {
                    Thread.sleep(100);
                }
            }
            assertEquals("SYNCED", state);
            String metrics = get("/metrics", viewer).body();
            assertTrue(metrics.contains("attestmesh_xds_push_ack_duration_seconds_count{outcome=\"ack\",type=\"Secret\"}"),
                    metrics);
            assertTrue(metrics.lines().anyMatch(l -> l.startsWith("attestmesh_xds_connected_proxies ")
                    && !l.endsWith(" 0.0")), metrics);
        } finally {
            requests.onCompleted();
            ch.shutdownNow();
        }
    }

    @Test
    void metricsExposePrometheusText() throws Exception {
        try (var authz = new dev.attestmesh.server.demo.DemoAuthzClient("127.0.0.1:" + cp.grpcPort(), web1)) {
            assertFalse(authz.check(web1Creds.leaf(), web1Creds.claims().getSpiffeId(), List.of("no-such-policy")).allowed());
            assertTrue(authz.check(web1Creds.leaf(), web1Creds.claims().getSpiffeId(), List.of("default")).allowed());
            Thread.sleep(5); // a decision is reused from the millisecond after the one it was made in
            assertTrue(authz.check(web1Creds.leaf(), web1Creds.claims().getSpiffeId(), List.of("default")).allowed());
        }
        HttpResponse<String> r = get("/metrics", viewer);
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        String body = r.body();
        assertTrue(body.contains("attestmesh_attestations_total{result=\"accepted\",tee=\"sim\"}"), body);
        assertTrue(body.contains("attestmesh_attestation_duration_seconds_bucket"), body);
        assertTrue(body.contains("attestmesh_certificates_issued_total"), body);
        assertTrue(body.contains("attestmesh_xds_connected_proxies"), body);
        assertTrue(body.lines().anyMatch(l -> l.startsWith("attestmesh_extauthz_checks_total{decision=\"allow\"}")
                && !l.endsWith(" 0.0")), body);
        assertTrue(body.lines().anyMatch(l -> l.startsWith("attestmesh_extauthz_checks_total{decision=\"deny\"}")
                && !l.endsWith(" 0.0")), body);
        assertTrue(body.lines().anyMatch(l -> l.startsWith("attestmesh_extauthz_decisions_total{source=\"computed\"}")
                && !l.endsWith(" 0.0")), body);
        assertTrue(body.lines().anyMatch(l -> l.startsWith("attestmesh_extauthz_decisions_total{source=\"cache\"}")
                && !l.endsWith(" 0.0")), "the repeated Check is answered from the cache: " + body);
    }

    static String registrationDocument(String id, String spiffeId, String policy, String nodeGlob) {
        return """
                registrations:
                  - id: %s
                    spiffeId: %s
                    policies: [%s]
                    selectors: {nodeId: "%s"}
                """.formatted(id, spiffeId, policy, nodeGlob);
    }

    NodeAgent agent(String id, Path outputDir, Optional<String> identity) {
        try {
            return new NodeAgent(new NodeAgent.Settings(id, "127.0.0.1:" + cp.grpcPort(),
                    dev.attestmesh.ca.Pem.parseCertificates(Files.readString(cp.caBundleFile())), outputDir,
                    Optional.empty(), identity), SimulatedTee.withMeasurementHex(GOOD), Clock.systemUTC());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void registrationsCanBeCreatedUpdatedReadAndDeletedByOperatorsAndReadByViewers() throws Exception {
        String doc = registrationDocument("crud-reg", "spiffe://attestmesh.local/crud/{nodeId}", "default", "crud-*");
        assertEquals(403, send("POST", "/api/v1/registrations", viewer, "application/yaml", doc).statusCode());
        HttpResponse<String> created = send("POST", "/api/v1/registrations", operator, "application/yaml", doc);
        assertEquals(200, created.statusCode(), created.body());
        JsonNode change = JSON.readTree(created.body()).get(0);
        assertEquals("crud-reg", change.path("id").asText());
        assertEquals("created", change.path("change").asText());
        assertEquals(1, change.path("version").asLong());
        HttpResponse<String> again = send("POST", "/api/v1/registrations", operator, "application/yaml", doc);
        assertEquals("unchanged", JSON.readTree(again.body()).get(0).path("change").asText(), again.body());
        assertEquals(1, JSON.readTree(again.body()).get(0).path("version").asLong());

        HttpResponse<String> updated = send("PUT", "/api/v1/registrations/crud-reg", operator, "application/yaml", """
                registrations:
                  - id: crud-reg
                    spiffeId: spiffe://attestmesh.local/ns/crud/sa/api
                    policies: [default]
                    selectors:
                      kubernetes: {namespace: crud, serviceAccount: api}
                    maxInstances: 3
                """);
        assertEquals(200, updated.statusCode(), updated.body());
        assertEquals("updated", JSON.readTree(updated.body()).path("change").asText(), updated.body());
        assertEquals(2, JSON.readTree(updated.body()).path("version").asLong());

        JsonNode got = JSON.readTree(get("/api/v1/registrations/crud-reg", viewer).body());
        assertEquals(2, got.path("version").asLong(), got.toString());
        assertEquals("spiffe://attestmesh.local/ns/crud/sa/api", got.path("spiffeId").asText());
        assertEquals("default", got.path("policies").get(0).asText());
        assertEquals("crud", got.path("selectors").path("kubernetes").path("namespace").asText(), got.toString());
        assertEquals("api", got.path("selectors").path("kubernetes").path("serviceAccount").asText());
        assertEquals(3, got.path("maxInstances").asInt(), got.toString());
        assertTrue(got.path("document").asText().startsWith("registrations:"), got.toString());
        assertEquals(List.of(cp.registrations().get("crud-reg").orElseThrow()), dev.attestmesh.identity.RegistrationDocuments
                .parse(got.path("document").asText(), "response", "attestmesh.local"), "the document reads back equal");
        JsonNode list = JSON.readTree(get("/api/v1/registrations", viewer).body());
        List<String> ids = new java.util.ArrayList<>();
        list.forEach(r -> ids.add(r.path("id").asText()));
        assertTrue(ids.contains("crud-reg") && ids.contains("nodes"), list.toString());

        HttpResponse<String> mismatch = send("PUT", "/api/v1/registrations/other-id", operator, "application/yaml", doc);
        assertEquals(400, mismatch.statusCode(), "URL and document must name the same registration");
        assertTrue(mismatch.body().contains("exactly one registration"), mismatch.body());
        assertEquals(2, cp.registrations().get("crud-reg").orElseThrow().version(), "nothing changed");

        assertEquals(403, send("DELETE", "/api/v1/registrations/crud-reg", viewer, null, null).statusCode());
        assertEquals(204, send("DELETE", "/api/v1/registrations/crud-reg", operator, null, null).statusCode());
        assertEquals(404, get("/api/v1/registrations/crud-reg", viewer).statusCode());
        HttpResponse<String> gone = send("DELETE", "/api/v1/registrations/crud-reg", operator, null, null);
        assertEquals(404, gone.statusCode());
        assertTrue(gone.body().contains("no registration 'crud-reg'"), gone.body());
        assertTrue(cp.registrations().get("nodes").isPresent(), "other registrations are kept");
    }

    @Test
    void invalidRegistrationWriteListsParserAndSetProblemsAndChangesNothing() throws Exception {
        long nodesVersion = cp.registrations().get("nodes").orElseThrow().version();
        int count = cp.registrations().all().size();
        HttpResponse<String> malformed = send("POST", "/api/v1/registrations", operator, "application/yaml", """
                registrations:
                  - id: Bad_Id
                    spiffeId: spiffe://elsewhere.example/x
                    policies: [default]
                    colour: blue
                  - id: fine
                    spiffeId: spiffe://attestmesh.local/fine
                    policies: [default]
                """);
        assertEquals(400, malformed.statusCode(), malformed.body());
        JsonNode body = JSON.readTree(malformed.body());
        assertTrue(body.path("problems").size() >= 3, malformed.body());
        assertTrue(malformed.body().contains("colour"), malformed.body());
        assertTrue(malformed.body().contains("Bad_Id"), malformed.body());
        assertTrue(malformed.body().contains("elsewhere.example"), malformed.body());
        assertTrue(body.path("error").asText().contains("nothing was changed"), malformed.body());

        HttpResponse<String> clash = send("POST", "/api/v1/registrations", operator, "application/yaml", """
                registrations:
                  - id: needs-missing-policy
                    spiffeId: spiffe://attestmesh.local/missing
                    policies: [no-such-policy]
                  - id: steals-node-ids
                    spiffeId: spiffe://attestmesh.local/node/{nodeId}
                    policies: [default]
                """);
        assertEquals(400, clash.statusCode(), clash.body());
        JsonNode problems = JSON.readTree(clash.body()).path("problems");
        assertEquals(2, problems.size(), clash.body());
        assertTrue(clash.body().contains("policy 'no-such-policy' does not exist"), clash.body());
        assertTrue(clash.body().contains("already granted by registration 'nodes'"), clash.body());
        assertEquals(count, cp.registrations().all().size(), "nothing half-applied");
        assertTrue(cp.registrations().get("needs-missing-policy").isEmpty(), "nothing half-applied");
        assertEquals(nodesVersion, cp.registrations().get("nodes").orElseThrow().version());

        String big = "registrations: []\n#" + "x".repeat(1024 * 1024 + 10);
        HttpResponse<String> tooBig = send("POST", "/api/v1/registrations", operator, "application/yaml", big);
        assertEquals(413, tooBig.statusCode(), tooBig.body());
        assertTrue(tooBig.body().contains("too large") && tooBig.body().contains("1 MiB"), tooBig.body());
    }

    @Test
    void deletingARegistrationThroughTheApiExpiresTheNodesHoldingItAtOnce() throws Exception {
        HttpResponse<String> created = send("POST", "/api/v1/registrations", operator, "application/yaml",
                registrationDocument("pinned", "spiffe://attestmesh.local/pinned/{nodeId}", "default", "pin-*"));
        assertEquals(200, created.statusCode(), created.body());
        agent("pin-1", dir.resolve("nodes").resolve("pin-1"),
                Optional.of("spiffe://attestmesh.local/pinned/pin-1")).attestOnce();
        JsonNode before = JSON.readTree(get("/api/v1/nodes/pin-1", viewer).body()).path("node");
        assertEquals("ATTESTED", before.path("state").asText(), before.toString());
        assertEquals("pinned", before.path("registration").asText(), before.toString());
        assertEquals("spiffe://attestmesh.local/pinned/pin-1", before.path("spiffeId").asText());

        assertEquals(204, send("DELETE", "/api/v1/registrations/pinned", operator, null, null).statusCode());
        JsonNode after = JSON.readTree(get("/api/v1/nodes/pin-1", viewer).body()).path("node");
        assertEquals("EXPIRED", after.path("state").asText(), after.toString());
        assertTrue(after.path("stateReason").asText().contains("registration"), after.toString());
        assertEquals(NodeState.ATTESTED, cp.registry().entry("web-1").orElseThrow().state(),
                "nodes under other registrations keep their identity");
    }

    @Test
    void nodeViewsNameTheRegistrationAndNoKubernetesIdentityForAPlainNode() throws Exception {
        JsonNode list = JSON.readTree(get("/api/v1/nodes", viewer).body());
        JsonNode web1 = null;
        for (JsonNode n : list) {
            if (n.path("nodeId").asText().equals("web-1")) {
                web1 = n;
            }
        }
        assertTrue(web1 != null, list.toString());
        assertEquals("nodes", web1.path("registration").asText(), web1.toString());
        assertTrue(web1.path("kubernetes").isMissingNode() || web1.path("kubernetes").isNull(), web1.toString());
    }

    @Test
    void releaseLetsAnotherKeyAttestUnderTheNodeIdAndIsRecordedInTheIssuanceLog() throws Exception {
        agent("rel-1", dir.resolve("nodes").resolve("rel-1"), Optional.empty()).attestOnce();
        NodeAgent replacement = agent("rel-1", dir.resolve("nodes").resolve("rel-1-replacement"), Optional.empty());
        var refused = org.junit.jupiter.api.Assertions.assertThrows(dev.attestmesh.agent.AttestationRefusedException.class,
                replacement::attestOnce);
        assertEquals("PERMISSION_DENIED", refused.code(), refused.getMessage());
        assertTrue(refused.getMessage().contains("held by another key"), refused.getMessage());

        assertEquals(403, send("POST", "/api/v1/nodes/rel-1/release", viewer, "application/json", "{}").statusCode());
        HttpResponse<String> tooLong = send("POST", "/api/v1/nodes/rel-1/release", operator, "application/json",
                "{\"reason\":\"" + "r".repeat(257) + "\"}");
        assertEquals(400, tooLong.statusCode(), tooLong.body());
        assertTrue(tooLong.body().contains("256"), tooLong.body());
        HttpResponse<String> control = send("POST", "/api/v1/nodes/rel-1/release", operator, "application/json",
                "{\"reason\":\"line one\\nline two\"}");
        assertEquals(400, control.statusCode(), control.body());
        assertTrue(control.body().contains("control characters"), control.body());
        HttpResponse<String> unknownField = send("POST", "/api/v1/nodes/rel-1/release", operator, "application/json",
                "{\"reason\":\"x\",\"colour\":\"blue\"}");
        assertEquals(400, unknownField.statusCode(), unknownField.body());
        assertEquals(NodeState.ATTESTED, cp.registry().entry("rel-1").orElseThrow().state(), "refusals change nothing");

        long logBefore = cp.issuanceLog().list(1, 100_000).size();
        HttpResponse<String> released = send("POST", "/api/v1/nodes/rel-1/release", operator, "application/json",
                "{\"reason\":\"machine replaced\"}");
        assertEquals(200, released.statusCode(), released.body());
        JsonNode node = JSON.readTree(released.body()).path("node");
        assertEquals("EXPIRED", node.path("state").asText(), released.body());
        assertEquals("released by oncall: machine replaced", node.path("stateReason").asText());
        var entries = cp.issuanceLog().list(1, 100_000);
        assertEquals(logBefore + 1, entries.size());
        var audit = entries.getLast();
        assertEquals("release", audit.serialHex());
        assertEquals("rel-1", audit.nodeId());
        assertEquals("spiffe://attestmesh.local/node/rel-1", audit.spiffeId());
        assertEquals("", audit.evidenceSha256Hex());
        assertEquals(List.of(), audit.policyIds());
        assertTrue(cp.issuanceLog().verify().intact(), "the release entry is chained like the others");

        replacement.attestOnce();
        assertEquals(NodeState.ATTESTED, cp.registry().entry("rel-1").orElseThrow().state());

        assertEquals(404, send("POST", "/api/v1/nodes/no-such-node/release", operator, "application/json", "{}")
                .statusCode());
        HttpResponse<String> noBody = send("POST", "/api/v1/nodes/rel-1/release", operator, null, null);
        assertEquals(200, noBody.statusCode(), "the body is optional: " + noBody.body());
        assertEquals("released by oncall", cp.registry().entry("rel-1").orElseThrow().stateReason());

        cp.registry().revoke("rel-1", "test revocation");
        HttpResponse<String> revoked = send("POST", "/api/v1/nodes/rel-1/release", operator, "application/json", "{}");
        assertEquals(409, revoked.statusCode(), revoked.body());
        assertTrue(revoked.body().contains("lift the revocation first"), revoked.body());
        assertEquals(NodeState.REVOKED, cp.registry().entry("rel-1").orElseThrow().state());
    }

    @Test
    void openApiDocumentListsEveryApiRoute() throws Exception {
        HttpResponse<String> r = get("/openapi.yaml", viewer);
        assertEquals(200, r.statusCode());
        JsonNode doc = new com.fasterxml.jackson.dataformat.yaml.YAMLMapper().readTree(r.body());
        JsonNode paths = doc.path("paths");
        var router = ctx.getBean(io.micronaut.web.router.Router.class);
        List<io.micronaut.web.router.UriRouteInfo<?, ?>> routes = router.uriRoutes()
                .filter(x -> x.getUriMatchTemplate().toPathString().startsWith("/api/v1")).toList();
        assertTrue(routes.size() >= 15, "routes: " + routes.size());
        for (var route : routes) {
            String path = route.getUriMatchTemplate().toPathString();
            assertTrue(paths.path(path).has(route.getHttpMethodName().toLowerCase()),
                    route.getHttpMethodName() + " " + path + " missing from\n" + r.body());
        }
        assertEquals("admin", paths.path("/api/v1/ca/rotate-intermediate").path("post").path("x-attestmesh-role").asText());
        for (String method : List.of("get", "post")) {
            assertTrue(paths.path("/api/v1/registrations").has(method), method + " registrations\n" + r.body());
        }
        for (String method : List.of("get", "put", "delete")) {
            assertTrue(paths.path("/api/v1/registrations/{id}").has(method), method + " registrations/{id}\n" + r.body());
        }
        assertEquals("viewer", paths.path("/api/v1/registrations").path("get").path("x-attestmesh-role").asText());
        assertEquals("operator", paths.path("/api/v1/registrations").path("post").path("x-attestmesh-role").asText());
        JsonNode release = paths.path("/api/v1/nodes/{id}/release").path("post");
        assertEquals("operator", release.path("x-attestmesh-role").asText(), r.body());
        assertTrue(release.path("requestBody").path("content").path("application/json").path("schema").path("$ref")
                .asText().endsWith("/ReleaseRequest"), release.toString());
        assertTrue(doc.path("components").path("schemas").has("ReleaseRequest"));
        assertTrue(doc.path("components").path("schemas").has("RegistrationView"), "list response schema");
        assertTrue(doc.path("components").path("schemas").path("NodeSummary").path("properties").has("registration"));
        assertTrue(doc.path("components").path("schemas").has("RevocationRequest"));
    }
}
