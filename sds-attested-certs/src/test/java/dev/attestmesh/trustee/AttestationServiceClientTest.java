package dev.attestmesh.trustee;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.attestmesh.quote.TeeType;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The AS client against a loopback HTTP server standing in for Trustee's restful-as. */
class AttestationServiceClientTest {
    private HttpServer server;
    private final AtomicReference<String> lastBody = new AtomicReference<>();
    private volatile int status = 200;
    private volatile byte[] answer = "token".getBytes(StandardCharsets.UTF_8);
    private volatile long delayMillis;
    private final AttestationServiceClient client = AttestationServiceClient.create(List.of(),
            new AttestationServiceClient.Limits(Duration.ofSeconds(2), Duration.ofMillis(800), 4096));

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/attestation", ex -> {
            lastBody.set(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            try {
                Thread.sleep(delayMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ex.sendResponseHeaders(status, answer.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(answer);
            } catch (IOException e) {
                // the client hung up (oversized or timed out): expected
            }
        });
        server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(2));
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private URI addr() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    @Test
    void sendsTrusteeRestfulRequestShapeAndReturnsTheToken() throws Exception {
        byte[] rd = new byte[64];
        rd[0] = 7;
        String token = client.attest(addr(), TeeType.SIM, "{\"svn\":\"1\"}".getBytes(StandardCharsets.UTF_8), rd,
                List.of("default"));
        assertEquals("token", token);
        JsonNode body = new ObjectMapper().readTree(lastBody.get());
        JsonNode r = body.get("verification_requests").get(0);
        assertEquals("sample", r.get("tee").asText());
        assertEquals("{\"svn\":\"1\"}", new String(Base64.getUrlDecoder().decode(r.get("evidence").asText()),
                StandardCharsets.UTF_8));
        assertTrue(!r.get("evidence").asText().contains("="), "base64url without padding");
        assertEquals(64, Base64.getUrlDecoder().decode(r.get("runtime_data").get("raw").asText()).length);
        assertEquals("sha512", r.get("runtime_data_hash_algorithm").asText());
        assertEquals("default", body.get("policy_ids").get(0).asText());
    }

    @Test
    void refusesOversizedAnswer() {
        answer = new byte[10_000];
        EarRejectedException e = assertThrows(EarRejectedException.class,
                () -> client.attest(addr(), TeeType.TDX, new byte[10], new byte[64], List.of("default")));
        assertEquals(EarCheck.TOO_LARGE, e.check());
    }

    @Test
    void refusesSlowAnswer() {
        delayMillis = 2_000;
        long t0 = System.nanoTime();
        EarRejectedException e = assertThrows(EarRejectedException.class,
                () -> client.attest(addr(), TeeType.TDX, new byte[10], new byte[64], List.of("default")));
        assertEquals(EarCheck.TIMEOUT, e.check());
        assertTrue(System.nanoTime() - t0 < Duration.ofMillis(1_900).toNanos(), "bounded by the timeout");
    }

    @Test
    void refusesErrorStatusNamingIt() {
        status = 500;
        answer = "Verifier evaluate failed".getBytes(StandardCharsets.UTF_8);
        EarRejectedException e = assertThrows(EarRejectedException.class,
                () -> client.attest(addr(), TeeType.TDX, new byte[10], new byte[64], List.of("default")));
        assertEquals(EarCheck.AS_ERROR, e.check());
        assertTrue(e.getMessage().contains("HTTP 500"), e.getMessage());
    }

    @Test
    void refusesUnreachableService() {
        server.stop(0);
        EarRejectedException e = assertThrows(EarRejectedException.class,
                () -> client.attest(addr(), TeeType.TDX, new byte[10], new byte[64], List.of("default")));
        assertEquals(EarCheck.TRANSPORT, e.check());
    }
}
