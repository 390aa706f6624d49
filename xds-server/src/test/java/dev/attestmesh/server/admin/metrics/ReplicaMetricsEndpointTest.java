package dev.attestmesh.server.admin.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The standalone replica's {@code /metrics} endpoint over a real loopback socket, read as Prometheus text. */
class ReplicaMetricsEndpointTest {
    @Test
    void servesPrometheusTextOnGetMetricsOnlyWithTheRegistryAge() throws Exception {
        try (ReplicaMetricsEndpoint endpoint = new ReplicaMetricsEndpoint();
                HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
            int port = endpoint.start(() -> Duration.ofMillis(42_500), "127.0.0.1", 0);
            String base = "http://127.0.0.1:" + port;
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
            PrometheusText t = PrometheusText.parse(r.body());
            assertEquals(42.5, t.value("attestmesh_authz_registry_age_seconds", Map.of()));
            assertEquals("histogram", t.types().get("attestmesh_extauthz_check_duration_seconds"));
            assertEquals("counter", t.types().get("attestmesh_extauthz_checks_total"));
            assertEquals("gauge", t.types().get("jvm_memory_used_bytes"));
            assertEquals(404, http.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/nodes")).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode());
            assertEquals(405, http.send(HttpRequest.newBuilder(URI.create(base + "/metrics"))
                    .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.discarding())
                    .statusCode());
        }
    }
}
