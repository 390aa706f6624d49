package dev.attestmesh.server.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.server.ControlPlane;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.h2.tools.Server;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Readiness reflects the store and the CA: a control plane whose store (an H2 database behind its own TCP
 * server) goes away answers {@code /health/ready} with 503 and a reason naming the store, while
 * {@code /health/live} stays 200.
 */
class ReadinessTest {
    @TempDir
    Path dir;

    @Test
    void readinessIs503WithAReasonWhenTheStoreIsDownWhileLivenessStaysUp() throws Exception {
        Server h2 = Server.createTcpServer("-tcpPort", "0", "-ifNotExists", "-baseDir", dir.resolve("h2").toString())
                .start();
        Map<String, Object> p = new HashMap<>();
        p.put("attestmesh.data-dir", dir.resolve("cp").toString());
        p.put("attestmesh.grpc-bind", "127.0.0.1");
        p.put("attestmesh.grpc-port", 0);
        p.put("attestmesh.admin-port", 0);
        p.put("attestmesh.ca-key", "readiness-test-key");
        p.put("attestmesh.database.url", "jdbc:h2:tcp://127.0.0.1:" + h2.getPort() + "/readiness");
        try (ApplicationContext ctx = Micronaut.build(new String[0]).banner(false).properties(p).start()) {
            int port = ctx.getBean(EmbeddedServer.class).getPort();
            HttpResponse<String> up = get(port, "/health/ready");
            assertEquals(200, up.statusCode(), up.body());

            h2.stop(); // the store goes away
            HttpResponse<String> down = get(port, "/health/ready");
            assertEquals(503, down.statusCode(), down.body());
            assertTrue(down.body().contains("\"status\":\"DOWN\""), down.body());
            assertTrue(down.body().contains("store:"), "the reason names the store: " + down.body());
            assertEquals(200, get(port, "/health/live").statusCode(), "liveness asks nothing of the store");
            ctx.getBean(ControlPlane.class); // still running
        } finally {
            h2.stop();
        }
    }

    @Test
    void aHungStoreIsReportedWithinTheTimeoutAndNotWaitedForTwice() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        ControlPlaneLessFixture f = new ControlPlaneLessFixture();
        try (ReadinessProbe probe = new ReadinessProbe(t -> {
            try {
                never.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, f::ca, f::serving, Clock.systemUTC(), Duration.ofSeconds(1))) {
            long start = System.nanoTime();
            ReadinessProbe.Result first = probe.check();
            ReadinessProbe.Result second = probe.check();
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            assertTrue(tookMs < 2_500, "two checks took " + tookMs + " ms");
            assertEquals(false, first.ready());
            assertTrue(first.reasons().getFirst().startsWith("store: no answer within 1 s"), first.reasons().toString());
            assertTrue(second.reasons().getFirst().contains("earlier check has not answered"), second.reasons().toString());
        } finally {
            never.countDown();
        }
    }

    @Test
    void anExpiredIntermediateOrServingCertificateIsNotReady() throws Exception {
        ControlPlaneLessFixture f = new ControlPlaneLessFixture();
        Instant later = f.serving().getNotAfter().toInstant().plusSeconds(1);
        try (ReadinessProbe probe = new ReadinessProbe(t -> { }, f::ca, f::serving,
                Clock.fixed(later, java.time.ZoneOffset.UTC), Duration.ofSeconds(1))) {
            ReadinessProbe.Result r = probe.check();
            assertEquals(false, r.ready());
            assertTrue(r.reasons().stream().anyMatch(s -> s.startsWith("ca: the control plane's serving certificate expired")),
                    r.reasons().toString());
        }
        try (ReadinessProbe probe = new ReadinessProbe(t -> { }, () -> null, f::serving, Clock.systemUTC(),
                Duration.ofSeconds(1))) {
            assertEquals(java.util.List.of("ca: not loaded"), probe.check().reasons());
        }
    }

    static HttpResponse<String> get(int port, String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(15)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
