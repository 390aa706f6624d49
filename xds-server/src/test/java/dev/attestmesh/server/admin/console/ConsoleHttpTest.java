package dev.attestmesh.server.admin.console;

import static dev.attestmesh.server.admin.console.ConsoleTestPlane.JSON;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The console's server side over plain HTTP against a real control plane: security headers on every /ui
 * answer, only the console's own files served, the API the console calls authenticated and role-checked,
 * node paging and filter validation, the overview and mesh graph, and the event stream (auth, live change,
 * subscriber limit).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsoleHttpTest {
    ConsoleTestPlane plane;

    @BeforeAll
    void start() throws Exception {
        plane = new ConsoleTestPlane(Map.of("attestmesh.console.max-event-subscribers", 2,
                "attestmesh.console.event-heartbeat", "200ms"));
        for (String id : List.of("web-1", "web-2", "web-3")) {
            plane.attest(id);
        }
    }

    @AfterAll
    void stop() throws Exception {
        if (plane != null) {
            plane.close();
        }
    }

    @Test
    void everyConsoleAnswerCarriesTheStrictSecurityHeaders() throws Exception {
        for (String path : List.of("/ui/", "/ui/index.html", "/ui/js/app.js", "/ui/console.css", "/ui/no-such-file.js", "/ui")) {
            HttpResponse<String> r = plane.get(path, null);
            String csp = r.headers().firstValue("Content-Security-Policy").orElse("");
            assertTrue(csp.contains("default-src 'self'"), path + ": " + r.statusCode() + " " + r.headers().map());
            assertTrue(csp.contains("frame-ancestors 'none'"), path + ": " + csp);
            assertTrue(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), csp);
            assertEquals("nosniff", r.headers().firstValue("X-Content-Type-Options").orElse(""), path);
            assertEquals("no-referrer", r.headers().firstValue("Referrer-Policy").orElse(""), path);
        }
        HttpResponse<String> index = plane.get("/ui/", null);
        assertEquals(200, index.statusCode());
        assertTrue(index.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
        assertFalse(index.body().matches("(?s).*<script(?![^>]*\\bsrc=)[^>]*>.*"), "no inline script in index.html");
        assertFalse(index.body().contains("style="), "no inline style in index.html");
        assertTrue(plane.get("/ui/js/app.js", null).headers().firstValue("Content-Type").orElse("").startsWith("text/javascript"));
        HttpResponse<String> bare = plane.get("/ui", null);
        assertEquals(3, bare.statusCode() / 100, "/ui redirects to /ui/: " + bare.statusCode());
        assertEquals("/ui/", bare.headers().firstValue("Location").orElse(""));
    }

    @Test
    void onlyTheConsoleFilesAreServedNoOtherClassPathResource() throws Exception {
        for (String path : List.of("/ui/application.yml", "/ui/../application.yml", "/ui/%2e%2e/application.yml",
                "/ui/logback.xml", "/ui/js/", "/ui/dev/attestmesh/server/ControlPlane.class")) {
            HttpResponse<String> r = plane.get(path, null);
            assertTrue(r.statusCode() == 404 || r.statusCode() == 400, path + " -> " + r.statusCode());
            assertFalse(r.body().contains("attestmesh:"), path + " must not leak application.yml");
        }
    }

    @Test
    void theApiTheConsoleCallsNeedsCredentialsAndTheViewersWriteIsRefused() throws Exception {
        for (String path : List.of("/api/v1/session", "/api/v1/overview", "/api/v1/mesh/graph", "/api/v1/events")) {
            assertEquals(401, plane.get(path, null).statusCode(), path);
        }
        JsonNode session = JSON.readTree(plane.get("/api/v1/session", plane.viewer).body());
        assertEquals("dashboards", session.path("name").asText());
        assertEquals("viewer", session.path("role").asText());
        assertEquals("operator", JSON.readTree(plane.get("/api/v1/session", plane.operator).body()).path("role").asText());
        HttpResponse<String> denied = plane.send("POST", "/api/v1/revocations", plane.viewer, "application/json",
                "{\"kind\":\"node\",\"value\":\"web-3\",\"reason\":\"viewer tries\"}");
        assertEquals(403, denied.statusCode(), denied.body());
        assertEquals("ATTESTED", plane.cp.registry().entry("web-3").orElseThrow().state().name());
    }

    @Test
    void nodeListPagesWithTotalAndNextOffsetHeaders() throws Exception {
        HttpResponse<String> first = plane.get("/api/v1/nodes?limit=2", plane.viewer);
        assertEquals(200, first.statusCode(), first.body());
        assertEquals(List.of("web-1", "web-2"), ids(first));
        assertEquals("3", first.headers().firstValue("X-Total-Count").orElse(""));
        assertEquals("2", first.headers().firstValue("X-Next-Offset").orElse(""));
        HttpResponse<String> second = plane.get("/api/v1/nodes?limit=2&offset=2", plane.viewer);
        assertEquals(List.of("web-3"), ids(second));
        assertTrue(second.headers().firstValue("X-Next-Offset").isEmpty(), "last page has no next offset");
        assertEquals(List.of(), ids(plane.get("/api/v1/nodes?offset=50", plane.viewer)));
    }

    @Test
    void nodeListFiltersByStateTeePolicyRegistrationAndExpiry() throws Exception {
        assertEquals(List.of("web-1", "web-2", "web-3"), ids(plane.get("/api/v1/nodes?state=attested&tee=sim&policy=default"
                + "&registration=nodes", plane.viewer)));
        assertEquals(List.of(), ids(plane.get("/api/v1/nodes?tee=tdx", plane.viewer)));
        assertEquals(List.of(), ids(plane.get("/api/v1/nodes?policy=strict", plane.viewer)), "GOOD does not satisfy strict");
        assertEquals(List.of(), ids(plane.get("/api/v1/nodes?registration=other", plane.viewer)));
        assertEquals(List.of(), ids(plane.get("/api/v1/nodes?expiringBefore=2000-01-01T00:00:00Z", plane.viewer)));
        assertEquals(3, ids(plane.get("/api/v1/nodes?expiringBefore=2999-01-01T00:00:00Z", plane.viewer)).size());
    }

    @Test
    void badNodeQueriesGet400NamingTheParameter() throws Exception {
        Map<String, String> cases = Map.ofEntries(
                Map.entry("state=BROKEN", "state"),
                Map.entry("tee=quantum", "tee"),
                Map.entry("limit=0", "limit"),
                Map.entry("limit=1001", "limit"),
                Map.entry("limit=abc", "limit"),
                Map.entry("limit=99999999999999999999", "limit"),
                Map.entry("offset=-1", "offset"),
                Map.entry("expiringBefore=tomorrow", "expiringBefore"),
                Map.entry("stat=ATTESTED", "unknown query parameter"),
                Map.entry("state=ATTESTED&state=REVOKED", "given 2 times"),
                Map.entry("policy=" + "p".repeat(300), "policy"),
                Map.entry("registration=a%0Ab", "registration"));
        for (Map.Entry<String, String> c : cases.entrySet()) {
            HttpResponse<String> r = plane.get("/api/v1/nodes?" + c.getKey(), plane.viewer);
            assertEquals(400, r.statusCode(), c.getKey() + " -> " + r.body());
            String error = JSON.readTree(r.body()).path("error").asText();
            assertTrue(error.contains(c.getValue()), c.getKey() + " -> " + error);
        }
        assertEquals(400, plane.get("/api/v1/overview?expiringWithin=forever", plane.viewer).statusCode());
        assertEquals(400, plane.get("/api/v1/overview?expiringWithin=-PT1M", plane.viewer).statusCode());
    }

    @Test
    void overviewCountsNodesPoliciesExpiryAndRefusals() throws Exception {
        // A refused attestation (unknown measurement), recorded with its reason.
        try {
            new dev.attestmesh.agent.NodeAgent(new dev.attestmesh.agent.NodeAgent.Settings("rogue-1", "127.0.0.1:" + plane.cp.grpcPort(),
                    dev.attestmesh.ca.Pem.parseCertificates(java.nio.file.Files.readString(plane.cp.caBundleFile())),
                    plane.dir.resolve("nodes").resolve("rogue-1"), java.util.Optional.empty(), java.util.Optional.empty()),
                    dev.attestmesh.quote.sim.SimulatedTee.withMeasurementHex("ee".repeat(48)), java.time.Clock.systemUTC()).attestOnce();
        } catch (Exception expected) {
            // refused: no policy accepts the measurement
        }
        JsonNode o = JSON.readTree(plane.get("/api/v1/overview?expiringWithin=P1D", plane.viewer).body());
        assertTrue(o.path("nodes").asInt() >= 3, o.toString());
        assertTrue(o.path("byTeeAndState").path("sim").path("ATTESTED").asInt() >= 2, o.toString());
        JsonNode def = null;
        for (JsonNode p : o.path("policies")) {
            if (p.path("id").asText().equals("default")) {
                def = p;
            }
        }
        assertTrue(def != null && def.path("nodes").asInt() >= 2, o.toString());
        assertTrue(o.path("expiringCount").asInt() >= 2, "1 h certificates expire within a day: " + o);
        boolean refused = false;
        for (JsonNode r : o.path("recentRefusals")) {
            refused |= r.path("nodeId").asText().equals("rogue-1") && !r.path("reason").asText().isEmpty();
        }
        assertTrue(refused, o.path("recentRefusals").toString());
    }

    @Test
    void meshGraphHasServicesAndEdgesWithTheirPolicies() throws Exception {
        JsonNode g = JSON.readTree(plane.get("/api/v1/mesh/graph", plane.viewer).body());
        assertEquals(2, g.path("services").size(), g.toString());
        JsonNode edge = g.path("edges").get(0);
        assertEquals("web", edge.path("from").asText());
        assertEquals("api", edge.path("to").asText());
        assertEquals(9443, edge.path("port").asInt());
        assertEquals("default", edge.path("calleeRequires").get(0).asText());
        assertEquals("strict", edge.path("callerRequires").get(0).asText());
        assertTrue(edge.path("known").asBoolean());
    }

    @Test
    void eventStreamPushesARevocationAndBoundsSubscribers() throws Exception {
        BlockingQueue<String> lines = new ArrayBlockingQueue<>(1000);
        List<InputStream> open = new ArrayList<>();
        try {
            open.add(stream(plane.viewer, lines));
            open.add(stream(plane.viewer, new ArrayBlockingQueue<>(1000)));
            HttpResponse<String> third = plane.http.send(HttpRequest.newBuilder(URI.create(plane.base + "/api/v1/events"))
                    .header("Authorization", "Bearer " + plane.viewer).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(503, third.statusCode(), "third subscriber over the limit of 2: " + third.body());
            assertTrue(awaitLine(lines, "hello", 5000), "hello first");
            assertTrue(awaitLine(lines, "heartbeat", 3000), "heartbeats every 200 ms");
            HttpResponse<String> added = plane.send("POST", "/api/v1/revocations", plane.operator, "application/json",
                    "{\"kind\":\"node\",\"value\":\"web-2\",\"reason\":\"event test\"}");
            assertEquals(201, added.statusCode(), added.body());
            assertTrue(awaitLine(lines, "\"nodeId\":\"web-2\"", 1000), "the revocation is pushed within a second");
            String rule = JSON.readTree(added.body()).path("rule").path("id").asText();
            assertEquals(200, plane.send("DELETE", "/api/v1/revocations/" + rule, plane.operator, null, null).statusCode());
            plane.attest("web-2"); // lifted nodes must attest again; the other tests expect it attested
        } finally {
            for (InputStream in : open) {
                in.close();
            }
        }
        // Closed streams free their places (bounded wait).
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (plane.ctx.getBean(ConsoleEvents.class).subscribers() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(0, plane.ctx.getBean(ConsoleEvents.class).subscribers());
    }

    private InputStream stream(String token, BlockingQueue<String> lines) throws Exception {
        HttpResponse<InputStream> r = plane.http.send(HttpRequest.newBuilder(URI.create(plane.base + "/api/v1/events"))
                .header("Authorization", "Bearer " + token).header("Accept", "text/event-stream").build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        InputStream in = r.body();
        Thread t = new Thread(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line; (line = reader.readLine()) != null; ) {
                    lines.offer(line);
                }
            } catch (Exception closed) {
                // the test closed the stream
            }
        }, "console-events-reader");
        t.setDaemon(true);
        t.start();
        return in;
    }

    private static boolean awaitLine(BlockingQueue<String> lines, String fragment, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        for (long left; (left = deadline - System.nanoTime()) > 0; ) {
            String line = lines.poll(left, TimeUnit.NANOSECONDS);
            if (line != null && line.contains(fragment)) {
                return true;
            }
        }
        return false;
    }

    private static List<String> ids(HttpResponse<String> r) throws Exception {
        assertEquals(200, r.statusCode(), r.body());
        List<String> out = new ArrayList<>();
        JSON.readTree(r.body()).forEach(n -> out.add(n.path("nodeId").asText()));
        return out;
    }
}
