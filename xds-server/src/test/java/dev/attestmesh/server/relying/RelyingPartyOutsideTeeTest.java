package dev.attestmesh.server.relying;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.ByteString;
import dev.attestmesh.api.v1.MeshStatementServiceGrpc;
import dev.attestmesh.api.v1.StatementRequest;
import dev.attestmesh.cli.AttestMeshCli;
import dev.attestmesh.quote.device.TeeDetector;
import dev.attestmesh.server.ControlPlane;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import picocli.CommandLine;

/**
 * A production-mode control plane on a machine without a TEE: the statement is refused clearly (HTTP 503,
 * gRPC FAILED_PRECONDITION, each listing what was looked for), never faked with the simulator, and an
 * unauthenticated flood is cut off by the rate limit before any evidence is collected.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RelyingPartyOutsideTeeTest {
    Path dir;
    ApplicationContext ctx;
    ControlPlane cp;
    String base;
    HttpClient http;

    @BeforeAll
    void start() throws Exception {
        boolean inTee;
        try {
            TeeDetector.system().detect();
            inTee = true;
        } catch (Exception e) {
            inTee = false;
        }
        assumeTrue(!inTee, "this machine runs in a TEE");
        dir = Files.createTempDirectory("attestmesh-rp-notee");
        ctx = Micronaut.build(new String[0]).banner(false).properties(Map.of(
                "attestmesh.data-dir", dir.resolve("cp").toString(),
                "attestmesh.grpc-bind", "127.0.0.1",
                "attestmesh.grpc-port", 0,
                "attestmesh.admin-port", 0,
                "attestmesh.ca-key", "relying-party-notee-key",
                "attestmesh.dev-mode", false,
                "attestmesh.statement.rate", 0.001, // a token every ~17 minutes: no refill during the test
                "attestmesh.statement.burst", 3)).start();
        cp = ctx.getBean(ControlPlane.class);
        base = "http://127.0.0.1:" + ctx.getBean(EmbeddedServer.class).getPort();
        http = HttpClient.newHttpClient();
    }

    @AfterAll
    void stop() throws Exception {
        if (http != null) {
            http.close();
        }
        if (ctx != null) {
            ctx.close();
        }
        if (dir != null) {
            try (var s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    HttpResponse<String> statement() throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + "/.well-known/attestmesh/statement?nonce=" + "11".repeat(32)))
                .GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void refusesClearlyOutsideATeeThenRateLimitsAFlood() throws Exception {
        // 1. gRPC: FAILED_PRECONDITION naming the interfaces looked for
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", cp.grpcPort()).overrideAuthority("localhost")
                .sslContext(GrpcSslContexts.forClient().trustManager(cp.caBundleFile().toFile()).build()).build();
        try {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> MeshStatementServiceGrpc
                    .newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS).getStatement(StatementRequest.newBuilder()
                            .setNonce(ByteString.copyFrom(new byte[32])).build()));
            assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().contains("/dev/sev-guest"), e.getStatus().getDescription());
        } finally {
            ch.shutdownNow();
        }
        // 2. HTTP: 503 with the same list, and no INSECURE marking (nothing simulated here)
        HttpResponse<String> r = statement();
        assertEquals(503, r.statusCode(), r.body());
        assertTrue(r.body().contains("not running in a TEE"), r.body());
        assertTrue(r.body().contains("/sys/kernel/config/tsm/report") && r.body().contains("/dev/attestation"), r.body());
        assertFalse(r.headers().firstValue(RelyingPartyController.INSECURE_HEADER).isPresent());
        // 3. the CLI reports exactly that and writes nothing
        Path out = dir.resolve("ca.pem");
        StringWriter so = new StringWriter();
        CommandLine cl = new CommandLine(new AttestMeshCli());
        cl.setOut(new PrintWriter(so));
        cl.setErr(new PrintWriter(new StringWriter()));
        assertEquals(1, cl.execute("verify", "--control-plane", base, "--expect-measurement", "aa".repeat(48),
                "--out", out.toString()));
        assertTrue(so.toString().contains("REFUSED at check 'statement'") && so.toString().contains("HTTP 503"), so.toString());
        assertFalse(Files.exists(out));
        // 4. the burst of 3 is spent: a flood of unauthenticated requests gets 429 without collecting evidence
        int limited = 0;
        for (int i = 0; i < 20; i++) {
            HttpResponse<String> f = statement();
            if (f.statusCode() == 429) {
                limited++;
                assertTrue(f.body().contains("too many statement requests"), f.body());
                assertEquals("1", f.headers().firstValue("Retry-After").orElse(""));
            } else {
                assertEquals(503, f.statusCode());
            }
        }
        assertEquals(20, limited, "every request after the burst is refused");
    }
}
