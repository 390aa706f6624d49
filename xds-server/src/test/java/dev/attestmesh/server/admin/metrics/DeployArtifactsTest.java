package dev.attestmesh.server.admin.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.server.ControlPlaneFixture;
import dev.attestmesh.server.demo.DemoAuthzClient;
import dev.attestmesh.server.testing.OpenAdsStream;
import dev.attestmesh.server.xds.XdsSyncTracker;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.time.Duration;
import java.util.Optional;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The shipped Grafana dashboard ({@code deploy/grafana/attestmesh-dashboard.json}) and Prometheus rules
 * ({@code deploy/prometheus/attestmesh-rules.yaml}): every metric their PromQL names is exported by a running
 * control plane after a small attest + Check flow, and the rules pass {@code promtool check rules} and their unit
 * tests ({@code promtool test rules}) when promtool is installed (Debian package {@code prometheus}; {@code .ci/run}
 * installs it), skipped with a message otherwise.
 */
class DeployArtifactsTest {
    static final Path ROOT = Path.of(System.getProperty("basedir", ".")).resolve("..").normalize();
    static final Path DASHBOARD = ROOT.resolve("deploy/grafana/attestmesh-dashboard.json");
    static final Path RULES = ROOT.resolve("deploy/prometheus/attestmesh-rules.yaml");
    static final Path RULE_TESTS = ROOT.resolve("deploy/prometheus/attestmesh-rules.test.yaml");
    static final String TOKEN = "deploy-artifacts-test-token-0123456789";

    /** Every PromQL expression of the dashboard (panel targets and template queries), keyed by where it is. */
    static Map<String, String> dashboardExpressions() throws IOException {
        JsonNode d = new ObjectMapper().readTree(DASHBOARD.toFile());
        Map<String, String> out = new TreeMap<>();
        for (JsonNode p : d.path("panels")) {
            for (JsonNode t : p.path("targets")) {
                out.put("panel '" + p.path("title").asText() + "' " + t.path("refId").asText(), t.path("expr").asText());
            }
        }
        for (JsonNode v : d.path("templating").path("list")) {
            if (v.path("type").asText().equals("query")) {
                String q = v.path("query").path("query").asText();
                // label_values(metric, label): the metric is what must exist
                out.put("variable " + v.path("name").asText(), q.replaceAll("^label_values\\((\\w+),.*\\)$", "$1"));
            }
        }
        return out;
    }

    static Map<String, String> ruleExpressions() throws IOException {
        JsonNode r = new ObjectMapper(new YAMLFactory()).readTree(RULES.toFile());
        Map<String, String> out = new TreeMap<>();
        for (JsonNode g : r.path("groups")) {
            for (JsonNode rule : g.path("rules")) {
                out.put("rule " + rule.path("alert").asText(rule.path("record").asText()), rule.path("expr").asText());
            }
        }
        return out;
    }

    @Test
    void extractsMetricNamesFromPromQl() {
        assertEquals(Set.of("a_total", "b_seconds_bucket"), PromQlMetricNames.of(
                "sum by (job, le) (rate(a_total{reason=~\"x|y\"}[5m])) / on(job) histogram_quantile(0.9, "
                        + "rate(b_seconds_bucket{job=~\"$job\"}[1h] offset 5m)) > bool 1e-3 and 3 * 86400"));
    }

    @Test
    void dashboardIsValidAndEveryPanelHasAQuery() throws IOException {
        JsonNode d = new ObjectMapper().readTree(DASHBOARD.toFile());
        assertEquals("attestmesh-control-plane", d.path("uid").asText());
        Set<Integer> ids = new TreeSet<>();
        for (JsonNode p : d.path("panels")) {
            assertTrue(ids.add(p.path("id").asInt()), "duplicate panel id " + p.path("id"));
            assertFalse(p.path("targets").isEmpty(), "panel without a query: " + p.path("title"));
            assertTrue(p.path("gridPos").path("x").asInt() + p.path("gridPos").path("w").asInt() <= 24,
                    "panel wider than the grid: " + p.path("title"));
        }
        assertTrue(ids.size() >= 10, "panels: " + ids.size());
    }

    @Test
    void everyMetricInTheDashboardAndRulesIsExportedByARunningControlPlane() throws Exception {
        Map<String, String> exprs = new TreeMap<>(dashboardExpressions());
        exprs.putAll(ruleExpressions());
        try (ControlPlaneFixture f = ControlPlaneFixture.start(ControlPlaneFixture.simPolicy("default",
                ControlPlaneFixture.GOOD), Map.of("attestmesh.admin.token", TOKEN,
                "attestmesh.authz.replica-identities", "spiffe://attestmesh.local/attestmesh/replica/authz-1"))) {
            NodeAgent web = f.agent("web-1", ControlPlaneFixture.GOOD);
            AgentCredentials creds = web.attestOnce();
            try (DemoAuthzClient authz = new DemoAuthzClient(f.target(), web)) {
                assertTrue(authz.check(creds.leaf(), creds.claims().getSpiffeId(), List.of("default")).allowed());
            }
            try (OpenAdsStream ads = OpenAdsStream.open(f.target(), creds, web.clientIdentity().orElseThrow())) {
                DiscoveryResponse first = ads.awaitFirstResponse(Duration.ofSeconds(10));
                ads.answer(first, Optional.empty()); // an Envoy's ACK: the push-to-ACK histogram records it
                awaitTrue(() -> f.cp.xdsSync().nodesIn(XdsSyncTracker.SyncState.SYNCED) == 1);
            }
            System.gc(); // Micrometer registers the GC pause timer at the first GC it is notified of
            String base = "http://127.0.0.1:" + f.ctx.getBean(EmbeddedServer.class).getPort();
            Set<String> exported;
            try (HttpClient http = HttpClient.newHttpClient()) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                do { // the GC notification arrives asynchronously
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics"))
                            .header("Authorization", "Bearer " + TOKEN).build(), HttpResponse.BodyHandlers.ofString());
                    assertEquals(200, r.statusCode());
                    exported = PrometheusText.parse(r.body()).names();
                    if (exported.contains("jvm_gc_pause_seconds_sum")) {
                        break;
                    }
                    Thread.sleep(200);
                } while (System.nanoTime() < deadline);
            }
            List<String> missing = new ArrayList<>();
            for (var e : exprs.entrySet()) {
                Set<String> names = PromQlMetricNames.of(e.getValue());
                assertFalse(names.isEmpty(), e.getKey() + " names no metric: " + e.getValue());
                for (String n : names) {
                    if (!exported.contains(n)) {
                        missing.add(e.getKey() + ": " + n);
                    }
                }
            }
            assertEquals(List.of(), missing, "metrics named by the dashboard or rules that the server does not export");
        }
    }

    static void awaitTrue(java.util.function.BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!c.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "condition not met within 10 s");
            Thread.sleep(20);
        }
    }

    @Test
    void rulesPassPromtoolCheckAndTheirUnitTests() throws Exception {
        Path promtool = promtool();
        Assumptions.assumeTrue(promtool != null, "promtool not found on PATH (Debian package 'prometheus'): skipping "
                + "'promtool check rules' and 'promtool test rules'");
        assertPromtool(promtool, "check", "rules", RULES.toString());
        assertPromtool(promtool, "test", "rules", RULE_TESTS.toString());
    }

    static Path promtool() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path p = Path.of(dir, "promtool");
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    static void assertPromtool(Path promtool, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(promtool.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).directory(RULES.getParent().toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "promtool " + String.join(" ", args) + " took over 60 s");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "promtool " + String.join(" ", args) + ":\n" + out);
        assertTrue(out.contains("SUCCESS"), out);
    }
}
