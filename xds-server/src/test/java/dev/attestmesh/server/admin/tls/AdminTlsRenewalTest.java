package dev.attestmesh.server.admin.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.testing.SettableClock;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin listener's certificate is renewed on its own schedule while running, with a short TTL
 * ({@code attestmesh.server-cert.ttl=1h}, {@code renew-before=20m}): a client connecting after the renewal sees
 * the new certificate, and the old one had not expired when it was replaced.
 */
class AdminTlsRenewalTest {
    @TempDir
    Path dir;

    @Test
    void aClientConnectingAfterTheScheduledRenewalSeesTheNewCertificate() throws Exception {
        // The control plane's clock starts 50 minutes in the past, so its first one-hour certificate is valid in
        // real time too (TLS clients check against the real clock) and is due for renewal 40 minutes after start.
        Instant start = Instant.now().minus(Duration.ofMinutes(50));
        SettableClock clock = new SettableClock(start);
        Map<String, Object> p = new HashMap<>();
        p.put("attestmesh.data-dir", dir.resolve("cp").toString());
        p.put("attestmesh.grpc-bind", "127.0.0.1");
        p.put("attestmesh.grpc-port", 0);
        p.put("attestmesh.admin-port", 0);
        p.put("attestmesh.ca-key", "admin-renewal-test-key");
        p.put("attestmesh.admin.tls", "on");
        p.put("attestmesh.server-cert.ttl", "1h");
        p.put("attestmesh.server-cert.renew-before", "20m");
        p.put("attestmesh.rotation.check-interval", "1s");
        try (ApplicationContext ctx = ApplicationContext.builder().properties(p).singletons(clock).banner(false)
                .start()) {
            ControlPlane cp = ctx.getBean(ControlPlane.class);
            EmbeddedServer server = ctx.getBean(EmbeddedServer.class);
            server.start();
            int port = server.getPort();
            X509Certificate first = seen(cp, port);
            assertEquals(start.plus(Duration.ofHours(1)).getEpochSecond(), first.getNotAfter().toInstant().getEpochSecond(),
                    "a one-hour certificate from the control plane's clock");

            clock.advance(Duration.ofMinutes(41));
            long end = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            while (cp.servingCertificate().renewals() == 0 && System.nanoTime() < end) {
                Thread.sleep(50);
            }
            assertEquals(1, cp.servingCertificate().renewals(), "renewed by the schedule once its renewal time passed");
            assertTrue(first.getNotAfter().toInstant().isAfter(clock.instant()),
                    "the old certificate had not expired when it was replaced");

            X509Certificate second = null;
            for (int i = 0; i < 50; i++) {
                second = seen(cp, port);
                if (!second.getSerialNumber().equals(first.getSerialNumber())) {
                    break;
                }
                Thread.sleep(100);
            }
            assertNotEquals(first.getSerialNumber(), second.getSerialNumber(), "a new connection sees the new certificate");
            assertEquals(cp.servingCertificate().certificate(), second);
            assertEquals(clock.instant().plus(Duration.ofHours(1)).getEpochSecond(),
                    second.getNotAfter().toInstant().getEpochSecond());
        }
    }

    private static X509Certificate seen(ControlPlane cp, int port) throws Exception {
        AdminTlsTest.Recording trust = new AdminTlsTest.Recording(cp.trustBundle());
        HttpResponse<String> r = AdminTlsTest.client(trust, null).send(HttpRequest.newBuilder(
                URI.create("https://localhost:" + port + "/health/live")).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        return trust.leaves.getLast();
    }
}
