package dev.attestmesh.server.relying;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.api.v1.MeshStatementServiceGrpc;
import dev.attestmesh.api.v1.StatementRequest;
import dev.attestmesh.api.v1.StatementResponse;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.cli.AttestMeshCli;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.sim.SimulatedEvidenceVerifier;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.relying.MeshManifest;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.testing.TestMesh;
import com.google.protobuf.ByteString;
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
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import picocli.CommandLine;

/**
 * The relying party's path end to end in dev mode: a real control plane (Micronaut, gRPC, H2) on loopback,
 * the unauthenticated well-known endpoints, {@code attestmesh verify} run in a separate JVM as a user runs
 * it, and a tampering proxy standing for a compromised network or control plane.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RelyingPartyEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();
    Path dir;
    ApplicationContext ctx;
    ControlPlane cp;
    String base;
    HttpClient http;

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("attestmesh-rp");
        Path policies = Files.writeString(dir.resolve("policies.yaml"), TestMesh.POLICIES);
        Map<String, Object> props = new java.util.HashMap<>(Map.of(
                "attestmesh.statement.peer-rate", 1000, // every request here comes from 127.0.0.1
                "attestmesh.statement.peer-burst", 1000));
        props.putAll(Map.of(
                "attestmesh.data-dir", dir.resolve("cp").toString(),
                "attestmesh.grpc-bind", "127.0.0.1",
                "attestmesh.grpc-port", 0,
                "attestmesh.admin-port", 0,
                "attestmesh.ca-key", "relying-party-test-key",
                "attestmesh.dev-mode", true,
                "attestmesh.statement.rate", 1000,
                "attestmesh.statement.burst", 1000,
                "attestmesh.policy-file", policies.toString(),
                "attestmesh.registration-file", TestMesh.writeRegistrations(dir).toString()));
        ctx = Micronaut.build(new String[0]).banner(false).properties(props).start();
        cp = ctx.getBean(ControlPlane.class);
        base = "http://127.0.0.1:" + ctx.getBean(EmbeddedServer.class).getPort();
        http = HttpClient.newHttpClient();
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

    HttpResponse<byte[]> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + path)).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    record Run(int exit, String out, String err) {}

    static Run cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new AttestMeshCli());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void theStatementNeedsNoCredentialsBindsTheManifestAndSaysInsecure() throws Exception {
        String nonce = "5a".repeat(32);
        HttpResponse<byte[]> r = get("/.well-known/attestmesh/statement?nonce=" + nonce);
        assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
        assertTrue(r.headers().firstValue(RelyingPartyController.INSECURE_HEADER).orElse("").startsWith("INSECURE"));
        JsonNode s = JSON.readTree(r.body());
        assertEquals(2, s.get("version").asInt());
        assertEquals("sim", s.get("tee").asText());
        assertTrue(s.get("insecure").asBoolean());
        assertTrue(s.get("warning").asText().startsWith("INSECURE"));
        byte[] manifest = Base64.getDecoder().decode(s.get("manifest").asText());
        assertEquals(MeshManifest.sha256Hex(manifest), s.get("manifestSha256").asText());
        var v = SimulatedEvidenceVerifier.withDefaultKey().verify(new VerificationRequest(TeeType.SIM,
                Base64.getDecoder().decode(s.get("evidence").asText()), Optional.empty(), Instant.now()));
        assertArrayEquals(MeshManifest.reportData(MeshManifest.sha256(manifest), HexFormat.of().parseHex(nonce)),
                v.reportData(), "the evidence itself carries the v2 binding");
        assertEquals(RelyingPartyFactory.DEV_MEASUREMENT, v.primaryMeasurement());

        JsonNode m = JSON.readTree(manifest);
        assertEquals(MeshManifest.FORMAT, m.get("format").asText());
        assertEquals(MeshManifest.SEALING_OPERATOR, m.get("caKeySealing").asText());
        assertEquals(MeshManifest.SEALING_OPERATOR, s.get("caKeySealing").asText());
        assertEquals(MeshManifest.sha256Hex(cp.meshCa().root().getEncoded()), m.get("rootCertificateSha256").asText());
        assertEquals("[\"default\",\"strict\"]", JSON.writeValueAsString(m.get("policies").findValuesAsText("id")));
        assertEquals("spiffe://attestmesh.local/node/{nodeId}", m.at("/registrations/0/spiffeId").asText());
        assertFalse(m.get("checkpoint").isNull(), "the latest signed checkpoint is named");
        for (String name : MeshManifest.DOCUMENTS) {
            HttpResponse<byte[]> d = get("/.well-known/attestmesh/documents/" + name + "?manifest=" + s.get("manifestSha256").asText());
            assertEquals(200, d.statusCode(), name);
            assertEquals(m.at("/documents/" + name).asText(), MeshManifest.sha256Hex(d.body()), name);
        }
        assertEquals(Pem.certificates(cp.trustBundle()), new String(get("/.well-known/attestmesh/documents/trust-bundle?manifest="
                + s.get("manifestSha256").asText()).body(), StandardCharsets.US_ASCII));
        HttpResponse<byte[]> cur = get("/.well-known/attestmesh/manifest");
        assertEquals(200, cur.statusCode());
        assertEquals(MeshManifest.sha256Hex(cur.body()), cur.headers().firstValue(RelyingPartyController.MANIFEST_HEADER).orElseThrow());
    }

    @Test
    void badNoncesAndDocumentRequestsAreRefusedWithoutCollectingEvidence() throws Exception {
        for (String nonce : List.of("ab".repeat(31) + "a", "ab".repeat(33), "zz".repeat(32), "ab".repeat(500), "")) {
            HttpResponse<byte[]> r = get("/.well-known/attestmesh/statement?nonce=" + nonce);
            assertEquals(400, r.statusCode(), "nonce of " + nonce.length() + " characters");
            assertTrue(new String(r.body(), StandardCharsets.UTF_8).contains("64 hex digits"));
        }
        assertEquals(400, get("/.well-known/attestmesh/statement").statusCode());
        // beyond the HTTP server's own request-line bound, refused before any handler runs
        assertEquals(413, get("/.well-known/attestmesh/statement?nonce=" + "ab".repeat(5000)).statusCode());
        assertEquals(404, get("/.well-known/attestmesh/documents/secrets?manifest=" + "00".repeat(32)).statusCode());
        assertEquals(400, get("/.well-known/attestmesh/documents/policies?manifest=../../etc").statusCode());
        HttpResponse<byte[]> unknown = get("/.well-known/attestmesh/documents/policies?manifest=" + "00".repeat(32));
        assertEquals(404, unknown.statusCode());
        assertTrue(new String(unknown.body(), StandardCharsets.UTF_8).contains("request a new statement"));
    }

    @Test
    void verifyRunAsAProcessWritesABundleThatVerifiesANodeCertificate() throws Exception {
        Path out = dir.resolve("process").resolve("ca.pem");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                AttestMeshCli.class.getName(), "verify", "--control-plane", base, "--expect-measurement",
                RelyingPartyFactory.DEV_MEASUREMENT, "--allow-insecure-sim", "--out", out.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output;
        try (var in = p.getInputStream()) {
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "verify did not finish");
            output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } finally {
            p.destroyForcibly();
        }
        assertEquals(0, p.exitValue(), output);
        assertTrue(output.contains("RESULT: VERIFIED"), output);
        assertTrue(output.contains("WARNING: INSECURE"), output);
        for (String check : List.of("statement", "tee", "manifest", "evidence", "report-data-binding", "measurement",
                "documents", "manifest-entries", "trust-bundle", "checkpoint")) {
            assertTrue(output.lines().anyMatch(l -> l.trim().startsWith("PASS") && l.contains(check)), check + "\n" + output);
        }
        String pem = Files.readString(out);
        assertEquals(Pem.certificates(cp.trustBundle()), pem);

        // The consumer of ca.pem: a client validating a node's certificate chain against it (PKIX).
        NodeAgent agent = new NodeAgent(new NodeAgent.Settings("rp-node", "127.0.0.1:" + cp.grpcPort(),
                Pem.parseCertificates(Files.readString(cp.caBundleFile())), dir.resolve("nodes").resolve("rp-node"),
                Optional.empty(), Optional.empty()), SimulatedTee.withMeasurementHex(TestMesh.GOOD), Clock.systemUTC());
        AgentCredentials creds = agent.attestOnce();
        X509Certificate root = Pem.parseCertificates(pem).getFirst();
        PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
        params.setRevocationEnabled(false);
        CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509")
                .generateCertPath(creds.chain()), params);
    }

    @Test
    void verifyPrintsJsonAndRefusesTheSimulatedTeeUnlessAllowed() throws Exception {
        Path out = dir.resolve("json").resolve("ca.pem");
        Run ok = cli("verify", "--control-plane", base, "--expect-measurement", RelyingPartyFactory.DEV_MEASUREMENT,
                "--allow-insecure-sim", "--out", out.toString(), "-o", "json");
        assertEquals(0, ok.exit(), ok.out() + ok.err());
        JsonNode j = JSON.readTree(ok.out());
        assertTrue(j.get("verified").asBoolean());
        assertTrue(j.get("insecure").asBoolean());
        assertTrue(j.get("firstFailure").isNull());
        j.get("checks").forEach(c -> assertEquals("pass", c.get("result").asText(), c.toString()));
        assertTrue(Files.exists(out));

        Path refused = dir.resolve("nosim").resolve("ca.pem");
        Run no = cli("verify", "--control-plane", base, "--expect-measurement", RelyingPartyFactory.DEV_MEASUREMENT,
                "--out", refused.toString(), "-o", "json");
        assertEquals(1, no.exit());
        JsonNode n = JSON.readTree(no.out());
        assertEquals("tee", n.at("/firstFailure/check").asText());
        assertEquals("not-run", n.at("/checks/3/result").asText(), "nothing after the failed check runs");
        assertFalse(Files.exists(refused), "no trust bundle on failure");

        Run wrong = cli("verify", "--control-plane", base, "--expect-measurement", "ab".repeat(48),
                "--allow-insecure-sim", "--out", refused.toString());
        assertEquals(1, wrong.exit());
        assertTrue(wrong.out().contains("RESULT: REFUSED at check 'measurement'"), wrong.out());
        assertFalse(Files.exists(refused));
        Files.createDirectories(refused.getParent());
        Files.writeString(refused, "previously verified bundle");
        assertEquals(1, cli("verify", "--control-plane", base, "--expect-measurement", "ab".repeat(48),
                "--allow-insecure-sim", "--out", refused.toString()).exit());
        assertEquals("previously verified bundle", Files.readString(refused), "a failed run leaves an existing file alone");
        try (var siblings = Files.list(refused.getParent())) {
            assertEquals(1, siblings.count(), "no temporary file left behind");
        }
        assertEquals(2, cli("verify", "--control-plane", base, "--out", refused.toString()).exit(),
                "an expectation is required");
    }

    @Test
    void theManifestFollowsTheLiveStoresAndOlderManifestsKeepTheirDocuments() throws Exception {
        HttpResponse<byte[]> before = get("/.well-known/attestmesh/manifest");
        String oldDigest = before.headers().firstValue(RelyingPartyController.MANIFEST_HEADER).orElseThrow();
        byte[] oldRegistrations = get("/.well-known/attestmesh/documents/registrations?manifest=" + oldDigest).body();
        List<dev.attestmesh.identity.Registration> regs = new ArrayList<>(cp.registrations().all());
        regs.add(new dev.attestmesh.identity.Registration("zz-extra", 1, "spiffe://attestmesh.local/extra",
                List.of("strict"), Optional.empty(), Optional.empty(), java.util.OptionalInt.empty()));
        cp.registrations().replace(regs);
        HttpResponse<byte[]> after = get("/.well-known/attestmesh/manifest");
        String newDigest = after.headers().firstValue(RelyingPartyController.MANIFEST_HEADER).orElseThrow();
        assertFalse(newDigest.equals(oldDigest), "a registration change changes the manifest");
        JsonNode m = JSON.readTree(after.body());
        assertEquals("zz-extra", m.at("/registrations/1/id").asText());
        assertEquals("spiffe://attestmesh.local/extra", m.at("/registrations/1/spiffeId").asText());
        assertArrayEquals(oldRegistrations, get("/.well-known/attestmesh/documents/registrations?manifest=" + oldDigest).body(),
                "the documents of a recent manifest stay as that manifest digests them");
        assertFalse(java.util.Arrays.equals(oldRegistrations,
                get("/.well-known/attestmesh/documents/registrations?manifest=" + newDigest).body()));
    }

    @Test
    void theManifestListsEachSealingPolicysPublicKeyAsServedOpenly() throws Exception {
        JsonNode none = JSON.readTree(get("/.well-known/attestmesh/manifest").body());
        assertEquals(0, none.get("sealingKeys").size(), "no policy seals yet");
        cp.policies().replace(dev.attestmesh.policy.PolicyDocuments.parse(TestMesh.POLICIES.replace(
                "  - id: strict\n", "  - id: strict\n    sealing: true\n"), "test"));
        JsonNode m = JSON.readTree(get("/.well-known/attestmesh/manifest").body());
        JsonNode keys = m.get("sealingKeys");
        assertEquals(1, keys.size(), m.toString());
        assertEquals("strict", keys.at("/0/policyId").asText());
        assertEquals("ACTIVE", keys.at("/0/state").asText());
        var served = cp.sealingKeys().publicKeys().getFirst();
        assertEquals(served.keyId(), keys.at("/0/keyId").asText());
        assertEquals(HexFormat.of().formatHex(served.publicKey()), keys.at("/0/publicKey").asText(),
                "the key a sealer uses is the one the attested manifest binds");
        JsonNode open = JSON.readTree(get("/.well-known/attestmesh/sealing-keys").body());
        assertTrue(open.toString().contains(served.keyId()), open.toString());
    }

    @Test
    void verifyAppraisesAnExpectedPolicyFile() throws Exception {
        Path policy = Files.writeString(dir.resolve("control-plane-policy.yaml"), """
                policies:
                  - id: control-plane
                    tee: [sim]
                    reference:
                      sim:
                        measurement: ["%s"]
                """.formatted(RelyingPartyFactory.DEV_MEASUREMENT));
        Path out = dir.resolve("policy").resolve("ca.pem");
        Run ok = cli("verify", "--control-plane", base, "--expect-policy", policy.toString(), "--allow-insecure-sim",
                "--out", out.toString());
        assertEquals(0, ok.exit(), ok.out() + ok.err());
        assertTrue(ok.out().contains("satisfies policies [control-plane]"), ok.out());
        Path strict = Files.writeString(dir.resolve("strict-policy.yaml"), TestMesh.POLICIES);
        Path refused = dir.resolve("policy-refused").resolve("ca.pem");
        Run no = cli("verify", "--control-plane", base, "--expect-policy", strict.toString(), "--allow-insecure-sim",
                "--out", refused.toString());
        assertEquals(1, no.exit(), no.out());
        assertTrue(no.out().contains("REFUSED at check 'measurement': policy 'default' is not satisfied"), no.out());
        assertFalse(Files.exists(refused));
    }

    /** A proxy that forwards to the control plane and lets a test rewrite the statement or a document. */
    final class TamperingProxy implements AutoCloseable {
        final HttpServer server;
        volatile UnaryOperator<ObjectNode> statement = UnaryOperator.identity();
        volatile UnaryOperator<byte[]> policies = UnaryOperator.identity();

        TamperingProxy() throws Exception {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.createContext("/", ex -> {
                try {
                    HttpResponse<byte[]> r = get(ex.getRequestURI().toString());
                    byte[] body = r.body();
                    if (r.statusCode() == 200 && ex.getRequestURI().getPath().endsWith("/statement")) {
                        body = JSON.writeValueAsBytes(statement.apply((ObjectNode) JSON.readTree(body)));
                    } else if (r.statusCode() == 200 && ex.getRequestURI().getPath().endsWith("/documents/policies")) {
                        body = policies.apply(body);
                    }
                    ex.sendResponseHeaders(r.statusCode(), body.length);
                    ex.getResponseBody().write(body);
                } catch (Exception e) {
                    ex.sendResponseHeaders(502, -1);
                } finally {
                    ex.close();
                }
            });
            server.start();
        }

        String url() {
            return "http://127.0.0.1:" + server.getAddress().getPort();
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    Run verifyThrough(TamperingProxy proxy, Path out) {
        return cli("verify", "--control-plane", proxy.url(), "--expect-measurement", RelyingPartyFactory.DEV_MEASUREMENT,
                "--allow-insecure-sim", "--out", out.toString());
    }

    @Test
    void aReplayedStatementIsRefusedAndNoBundleIsWritten() throws Exception {
        try (TamperingProxy proxy = new TamperingProxy()) {
            Path out = dir.resolve("replay").resolve("ca.pem");
            AtomicReference<ObjectNode> recorded = new AtomicReference<>();
            proxy.statement = s -> {
                recorded.compareAndSet(null, s.deepCopy());
                return recorded.get().deepCopy();
            };
            assertEquals(0, verifyThrough(proxy, out).exit(), "the first run records a genuine statement");
            Files.delete(out);
            Run replayed = verifyThrough(proxy, out);
            assertEquals(1, replayed.exit(), replayed.out());
            assertTrue(replayed.out().contains("REFUSED at check 'statement'"), replayed.out());
            assertTrue(replayed.out().contains("replayed"), replayed.out());
            assertFalse(Files.exists(out));
        }
    }

    @Test
    void aManifestThatDiffersFromWhatTheEvidenceBindsIsRefused() throws Exception {
        try (TamperingProxy proxy = new TamperingProxy()) {
            Path out = dir.resolve("manifest").resolve("ca.pem");
            proxy.statement = s -> {
                byte[] m = Base64.getDecoder().decode(s.get("manifest").asText());
                byte[] forged = new String(m, StandardCharsets.UTF_8).replace("\"operator-key\"", "\"sev-snp-derived-key\"")
                        .getBytes(StandardCharsets.UTF_8);
                s.put("manifest", Base64.getEncoder().encodeToString(forged));
                return s;
            };
            Run r = verifyThrough(proxy, out);
            assertEquals(1, r.exit(), r.out());
            assertTrue(r.out().contains("REFUSED at check 'manifest'"), r.out());
            assertFalse(Files.exists(out));
            proxy.statement = s -> { // and with the claimed digest fixed up to match
                byte[] m = Base64.getDecoder().decode(s.get("manifest").asText());
                byte[] forged = new String(m, StandardCharsets.UTF_8).replace("\"operator-key\"", "\"sev-snp-derived-key\"")
                        .getBytes(StandardCharsets.UTF_8);
                s.put("manifest", Base64.getEncoder().encodeToString(forged));
                s.put("manifestSha256", MeshManifest.sha256Hex(forged));
                return s;
            };
            Run fixed = verifyThrough(proxy, out);
            assertEquals(1, fixed.exit(), fixed.out());
            assertTrue(fixed.out().contains("REFUSED at check 'report-data-binding'"), fixed.out());
            assertFalse(Files.exists(out));
        }
    }

    @Test
    void aDocumentAlteredAfterTheManifestIsRefused() throws Exception {
        try (TamperingProxy proxy = new TamperingProxy()) {
            Path out = dir.resolve("doc").resolve("ca.pem");
            proxy.policies = b -> new String(b, StandardCharsets.UTF_8).replace(TestMesh.STRICT, "ee".repeat(48))
                    .getBytes(StandardCharsets.UTF_8);
            Run r = verifyThrough(proxy, out);
            assertEquals(1, r.exit(), r.out());
            assertTrue(r.out().contains("REFUSED at check 'documents'"), r.out());
            assertTrue(r.out().contains("altered after the manifest"), r.out());
            assertFalse(Files.exists(out));
        }
    }

    @Test
    void grpcGetStatementAnswersWithoutAClientCertificate() throws Exception {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", cp.grpcPort()).overrideAuthority("localhost")
                .sslContext(GrpcSslContexts.forClient().trustManager(cp.caBundleFile().toFile()).build()).build();
        try {
            var stub = MeshStatementServiceGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
            byte[] nonce = HexFormat.of().parseHex("c4".repeat(32));
            StatementResponse r = stub.getStatement(StatementRequest.newBuilder().setNonce(ByteString.copyFrom(nonce)).build());
            assertEquals(2, r.getVersion());
            assertTrue(r.getInsecure());
            assertTrue(r.getWarning().startsWith("INSECURE"));
            byte[] manifest = r.getManifest().toByteArray();
            assertArrayEquals(MeshManifest.sha256(manifest), r.getManifestSha256().toByteArray());
            assertArrayEquals(MeshManifest.reportData(MeshManifest.sha256(manifest), nonce), r.getReportData().toByteArray());
            JsonNode m = JSON.readTree(manifest);
            for (String name : MeshManifest.DOCUMENTS) {
                assertEquals(m.at("/documents/" + name).asText(),
                        MeshManifest.sha256Hex(r.getDocumentsOrThrow(name).toByteArray()), name);
            }
            StatusRuntimeException bad = assertThrows(StatusRuntimeException.class, () -> stub.getStatement(
                    StatementRequest.newBuilder().setNonce(ByteString.copyFrom(new byte[31])).build()));
            assertEquals(Status.Code.INVALID_ARGUMENT, bad.getStatus().getCode());
        } finally {
            ch.shutdownNow();
        }
    }
}
