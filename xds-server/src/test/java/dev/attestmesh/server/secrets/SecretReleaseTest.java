package dev.attestmesh.server.secrets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.AttestationRefusedException;
import dev.attestmesh.agent.ControlPlaneChannels;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.api.v1.FetchSecretsRequest;
import dev.attestmesh.api.v1.FetchSecretsResponse;
import dev.attestmesh.api.v1.SecretServiceGrpc;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.issuance.IssuanceLogEntry;
import dev.attestmesh.policy.PolicyDocuments;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ControlPlane;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Secrets reach only nodes whose current attestation satisfies the secret's rule: through the agent's files
 * ({@code FetchSecrets} over mTLS) and through SDS ({@code secret:<name>} in the node's snapshot). Attack cases
 * first: other registration, other node's certificate, no certificate, revoked node, policy no longer satisfied,
 * import not exported; then rotation, the log, and the admin API's write-only values and bounds.
 */
class SecretReleaseTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String ADMIN_TOKEN = "secret-release-test-admin-token-01234";
    static final String GOOD = "a1".repeat(48);
    static final String STRICT = "c3".repeat(48);
    static final String POLICIES = """
            policies:
              - id: default
                tee: [sim]
                reference:
                  sim:
                    measurement: ["%s", "%s"]
              - id: strict
                tee: [sim]
                sealing: true
                reference:
                  sim:
                    measurement: ["%s"]
            """;
    static final String REGISTRATIONS = """
            registrations:
              - id: web
                spiffeId: spiffe://attestmesh.local/web/{nodeId}
                policies: [default]
                selectors: {nodeId: "web-*"}
              - id: batch
                spiffeId: spiffe://attestmesh.local/batch/{nodeId}
                policies: [default]
                selectors: {nodeId: "batch-*"}
            """;
    /** Recognisable bytes, searched for wherever they must never appear. */
    static final byte[] VALUE = "db-password: s3cr3t-VALUE-7f3a9c".getBytes(StandardCharsets.UTF_8);

    Path dir;
    ApplicationContext ctx;
    ControlPlane cp;
    String base;
    HttpClient http;
    ListAppender<ILoggingEvent> logs;

    @BeforeEach
    void start() throws Exception {
        logs = new ListAppender<>();
        logs.start();
        ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(logs);
        dir = Files.createTempDirectory("attestmesh-secrets");
        Path policies = Files.writeString(dir.resolve("policies.yaml"), POLICIES.formatted(GOOD, STRICT, STRICT));
        Path registrations = Files.writeString(dir.resolve("registrations.yaml"), REGISTRATIONS);
        ctx = Micronaut.build(new String[0]).banner(false).properties(Map.of(
                "attestmesh.data-dir", dir.resolve("cp").toString(),
                "attestmesh.grpc-bind", "127.0.0.1",
                "attestmesh.grpc-port", 0,
                "attestmesh.admin-port", 0,
                "attestmesh.ca-key", "secret-release-test-key",
                "attestmesh.dev-mode", true,
                "attestmesh.admin.token", ADMIN_TOKEN,
                "attestmesh.policy-file", policies.toString(),
                "attestmesh.registration-file", registrations.toString())).start();
        cp = ctx.getBean(ControlPlane.class);
        base = "http://127.0.0.1:" + ctx.getBean(EmbeddedServer.class).getPort();
        http = HttpClient.newHttpClient();
    }

    @AfterEach
    void stop() throws Exception {
        ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(logs);
        http.close();
        ctx.close();
        try (var s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    // ---- attacks -------------------------------------------------------------------------------------------

    @Test
    void aNodeOfAnotherRegistrationNeverReceivesTheSecret() throws Exception {
        put("db", VALUE, List.of("registration:web"), List.of());
        NodeAgent web = agent("web-1", GOOD);
        NodeAgent batch = agent("batch-1", GOOD);
        web.attestOnce();
        batch.attestOnce();

        assertArrayEquals(VALUE, Files.readAllBytes(web.secretFiles().directory().resolve("db")));
        assertFalse(Files.exists(batch.secretFiles().directory().resolve("db")), "agent file");
        assertEquals(Optional.of(VALUE.length), sdsValue("web-1", "db").map(b -> b.length));
        assertEquals(Optional.empty(), sdsValue("batch-1", "db"), "SDS");
        assertEquals(List.of(), fetch(batch, "batch-1").getSecretsList(), "FetchSecrets");
    }

    @Test
    void aCallerWithoutACertificateIsUnauthenticated() throws Exception {
        put("db", VALUE, List.of("registration:web"), List.of());
        agent("web-1", GOOD).attestOnce();
        ManagedChannel ch = ControlPlaneChannels.open("127.0.0.1:" + cp.grpcPort(),
                Pem.parseCertificates(Files.readString(cp.caBundleFile())), Optional.empty());
        try {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> SecretServiceGrpc
                    .newBlockingStub(ch).fetchSecrets(FetchSecretsRequest.newBuilder().setNodeId("web-1").build()));
            assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
        } finally {
            ch.shutdownNow();
        }
    }

    @Test
    void anotherNodesCertificateGetsNothing() throws Exception {
        put("db", VALUE, List.of("registration:web"), List.of());
        NodeAgent web = agent("web-1", GOOD);
        NodeAgent batch = agent("batch-1", GOOD);
        web.attestOnce();
        batch.attestOnce();
        // batch-1 presents its own valid certificate but names web-1
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> fetch(batch, "web-1"));
        assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("not the current attested certificate"),
                e.getStatus().getDescription());
    }

    @Test
    void revocationRemovesTheSecretFromSdsTheRpcAndTheAgentsFiles() throws Exception {
        put("db", VALUE, List.of("registration:web"), List.of());
        NodeAgent web = agent("web-1", GOOD);
        web.attestOnce();
        Path file = web.secretFiles().directory().resolve("db");
        assertTrue(Files.exists(file));
        assertTrue(sdsValue("web-1", "db").isPresent());

        assertTrue(cp.registry().revoke("web-1", "key leaked"));
        assertEquals(Optional.empty(), sdsValue("web-1", "db"), "the next SDS push has no secret");
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> fetch(web, "web-1"));
        assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
        assertThrows(AttestationRefusedException.class, web::attestOnce); // the next renewal is refused
        assertFalse(Files.exists(file), "a refused agent deletes its secret files");
    }

    @Test
    void aNodeWhosePolicyStopsBeingSatisfiedLosesThePolicysSecret() throws Exception {
        put("hsm-pin", VALUE, List.of("policy:strict"), List.of());
        NodeAgent strict = agent("web-1", STRICT);
        NodeAgent plain = agent("web-2", GOOD);
        strict.attestOnce();
        plain.attestOnce();
        assertTrue(sdsValue("web-1", "hsm-pin").isPresent());
        assertEquals(Optional.empty(), sdsValue("web-2", "hsm-pin"), "default-only node");
        assertFalse(Files.exists(plain.secretFiles().directory().resolve("hsm-pin")));

        // strict now demands another measurement: web-1 still satisfies default (keeps its identity) but not strict
        cp.policies().replace(PolicyDocuments.parse(POLICIES.formatted(GOOD, STRICT, "d4".repeat(48)), "test"));
        assertEquals(Optional.empty(), sdsValue("web-1", "hsm-pin"), "re-appraisal removes it from SDS at once");
        assertEquals(List.of(), fetch(strict, "web-1").getSecretsList(), "and from the agent's next fetch");
        strict.refreshSecrets();
        assertFalse(Files.exists(strict.secretFiles().directory().resolve("hsm-pin")), "the agent deletes the file");
        try (var files = Files.list(strict.secretFiles().directory())) {
            assertEquals(List.of(), files.toList(), "and the policy's sealing key with it");
        }
    }

    @Test
    void anImportGrantsOnlyWhatTheOwnerExportsAndStopsWhenTheExportIsWithdrawn() throws Exception {
        put("shared-key", VALUE, List.of("policy:strict"), List.of());
        HttpResponse<String> refused = send("POST", "/api/v1/secrets/shared-key/imports", "{\"into\":\"registration:batch\"}");
        assertEquals(400, refused.statusCode(), refused.body());
        assertTrue(refused.body().contains("does not export to registration:batch"), refused.body());

        put("shared-key", VALUE, List.of("policy:strict"), List.of("registration:batch"));
        assertEquals(200, send("POST", "/api/v1/secrets/shared-key/imports", "{\"into\":\"registration:batch\"}")
                .statusCode());
        NodeAgent batch = agent("batch-1", GOOD);
        NodeAgent web = agent("web-1", GOOD);
        batch.attestOnce();
        web.attestOnce();
        assertTrue(Files.exists(batch.secretFiles().directory().resolve("shared-key")), "importer receives it");
        assertFalse(Files.exists(web.secretFiles().directory().resolve("shared-key")), "not widened beyond the import");

        put("shared-key", VALUE, List.of("policy:strict"), List.of()); // the owner withdraws the export
        assertEquals(Optional.empty(), sdsValue("batch-1", "shared-key"));
        batch.refreshSecrets();
        assertFalse(Files.exists(batch.secretFiles().directory().resolve("shared-key")));
    }

    // ---- delivery, rotation, log ------------------------------------------------------------------------------

    @Test
    void theAgentWritesTheSecretOwnerOnlyAndARotationReplacesItOnTheNextPushAndRenewal() throws Exception {
        put("db", VALUE, List.of("registration:web"), List.of());
        NodeAgent web = agent("web-1", GOOD);
        web.attestOnce();
        Path file = web.secretFiles().directory().resolve("db");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertEquals(web.files().directory(), file.getParent().getParent(), "next to the key");

        byte[] v2 = "rotated-value-2".getBytes(StandardCharsets.UTF_8);
        put("db", v2, List.of("registration:web"), List.of());
        assertArrayEquals(v2, sdsValue("web-1", "db").orElseThrow(), "the SDS push carries version 2");
        web.attestOnce();
        assertArrayEquals(v2, Files.readAllBytes(file), "the renewal carries version 2");

        assertEquals(204, send("DELETE", "/api/v1/secrets/db", null).statusCode());
        assertEquals(Optional.empty(), sdsValue("web-1", "db"));
        web.attestOnce();
        assertFalse(Files.exists(file), "a deleted secret's file is deleted");
    }

    @Test
    void theLogRecordsEveryReleaseWithoutTheValueAndStillVerifies() throws Exception {
        put("db", VALUE, List.of("registration:web"), List.of());
        NodeAgent web = agent("web-1", GOOD);
        AgentCredentials creds = web.attestOnce();
        List<IssuanceLogEntry> entries = cp.issuanceLog().list(1, 100);
        List<IssuanceLogEntry> releases = entries.stream().filter(e -> e.release().isPresent()).toList();
        // one SDS release (snapshot) and one agent release (FetchSecrets)
        assertEquals(2, releases.size(), entries.toString());
        for (IssuanceLogEntry r : releases) {
            assertEquals(new IssuanceLogEntry.SecretRelease("db", 1), r.release().orElseThrow());
            assertEquals("web-1", r.nodeId());
            assertEquals(java.util.HexFormat.of().formatHex(creds.claims().getEvidenceSha256().toByteArray()),
                    r.evidenceSha256Hex());
        }
        assertTrue(cp.issuanceLog().verify().intact(), cp.issuanceLog().verify().toString());

        HttpResponse<String> page = send("GET", "/api/v1/issuance-log", null);
        JsonNode release = null;
        for (JsonNode e : JSON.readTree(page.body()).get("entries")) {
            if (e.get("kind").asText().equals("secret-release")) {
                release = e;
            }
        }
        assertEquals("db", release.get("secretName").asText());
        assertEquals(1, release.get("secretVersion").asLong());
        assertNoValueAnywhere(page.body());
    }

    // ---- admin API -------------------------------------------------------------------------------------------

    @Test
    void theAdminApiNeverReturnsTheValueAndNeitherDoTheLogs() throws Exception {
        HttpResponse<String> put = put("db", VALUE, List.of("registration:web"), List.of());
        assertEquals(200, put.statusCode(), put.body());
        agent("web-1", GOOD).attestOnce();
        for (String path : List.of("/api/v1/secrets", "/api/v1/secrets/db", "/api/v1/nodes",
                "/api/v1/issuance-log")) {
            HttpResponse<String> r = send("GET", path, null);
            assertEquals(200, r.statusCode(), path);
            assertNoValueAnywhere(r.body());
        }
        HttpResponse<String> dump = send("GET", "/api/v1/nodes/web-1/config-dump", null);
        assertEquals(200, dump.statusCode());
        assertTrue(dump.body().contains("secret:db") && dump.body().contains("[redacted]"), dump.body());
        assertNoValueAnywhere(dump.body());
        JsonNode view = JSON.readTree(send("GET", "/api/v1/secrets/db", null).body());
        assertEquals(1, view.get("currentVersion").asLong());
        assertEquals(VALUE.length, view.get("versions").get(0).get("size").asInt());
        assertFalse(view.has("value"));
        String logged = String.join("\n", logs.list.stream().map(ILoggingEvent::getFormattedMessage).toList());
        assertNoValueAnywhere(logged);
    }

    @Test
    void aViewerCannotWriteAndAnUnauthenticatedCallerCannotRead() throws Exception {
        HttpResponse<String> viewer = send("POST", "/api/v1/tokens", "{\"name\":\"dash\",\"role\":\"viewer\"}");
        String token = JSON.readTree(viewer.body()).get("token").asText();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/secrets/db"))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(body(VALUE, List.of("registration:web"), List.of()))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(403, r.statusCode());
        assertEquals(401, http.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/secrets")).GET().build(),
                HttpResponse.BodyHandlers.ofString()).statusCode());
        assertTrue(cp.secrets().all().isEmpty());
    }

    @Test
    void badInputIsRefusedWithAClearMessageAndStoresNothing() throws Exception {
        assertRefused(put("Bad_Name", VALUE, List.of("registration:web"), List.of()), "must match");
        assertRefused(put("x".repeat(64), VALUE, List.of("registration:web"), List.of()), "must match");
        assertRefused(put("big", new byte[64 * 1024 + 1], List.of("registration:web"), List.of()), "64 KiB");
        assertRefused(put("unknown", VALUE, List.of("registration:nope"), List.of()),
                "registration:nope names no existing registration");
        assertRefused(put("unknown", VALUE, List.of("policy:nope"), List.of()), "policy:nope names no existing");
        assertRefused(put("unknown", VALUE, List.of("web"), List.of()), "must be registration:<id> or policy:<id>");
        assertRefused(put("norule", VALUE, List.of(), List.of()), "at least one --allow rule");
        List<String> many = java.util.stream.IntStream.range(0, 17).mapToObj(i -> "registration:web").toList();
        assertRefused(put("many", VALUE, many, List.of()), "at most 16");
        assertRefused(put("badexport", VALUE, List.of("registration:web"), List.of("policy:ghost")),
                "export rule policy:ghost names no existing policy");
        assertTrue(cp.secrets().all().isEmpty(), "nothing stored: " + cp.secrets().all());
        // exactly the limit is accepted
        assertEquals(200, put("edge", new byte[64 * 1024], List.of("registration:web"), List.of()).statusCode());
    }

    @Test
    void theCliStoresShowsImportsAndDeletesWithoutEverPrintingTheValue() throws Exception {
        Path file = Files.write(dir.resolve("db.txt"), VALUE);
        String[] admin = {"--admin", base, "--token", ADMIN_TOKEN};
        assertEquals(0, cli("secrets", "put", "db", "--from-file", file.toString(), "--allow", "policy:strict",
                "--export", "registration:batch", admin[0], admin[1], admin[2], admin[3]).code(), "put");
        Cli show = cli("secrets", "show", "db", admin[0], admin[1], admin[2], admin[3]);
        assertEquals(0, show.code());
        assertTrue(show.out().contains("\"currentVersion\" : 1"), show.out());
        assertNoValueAnywhere(show.out());
        Cli imp = cli("secrets", "import", "db", "--into", "registration:batch", admin[0], admin[1], admin[2], admin[3]);
        assertEquals(0, imp.code(), imp.err());
        assertTrue(imp.out().contains("registration:batch"), imp.out());
        NodeAgent batch = agent("batch-1", GOOD);
        batch.attestOnce();
        assertArrayEquals(VALUE, Files.readAllBytes(batch.secretFiles().directory().resolve("db")));
        Cli list = cli("secrets", "list", admin[0], admin[1], admin[2], admin[3]);
        assertTrue(list.out().contains("db") && list.out().contains("v1"), list.out());
        assertNoValueAnywhere(list.out());
        Cli refused = cli("secrets", "put", "db2", "--from-file", file.toString(), "--allow", "registration:ghost",
                admin[0], admin[1], admin[2], admin[3]);
        assertEquals(1, refused.code());
        assertTrue(refused.err().contains("registration:ghost names no existing registration"), refused.err());
        Files.write(dir.resolve("big"), new byte[64 * 1024 + 1]);
        Cli big = cli("secrets", "put", "big", "--from-file", dir.resolve("big").toString(), "--allow", "policy:strict",
                admin[0], admin[1], admin[2], admin[3]);
        assertEquals(1, big.code());
        assertTrue(big.err().contains("larger than 65536 bytes"), big.err());
        assertEquals(0, cli("secrets", "delete", "db", admin[0], admin[1], admin[2], admin[3]).code());
        assertTrue(cp.secrets().all().isEmpty());
    }

    // ---- sealing to a policy ----------------------------------------------------------------------------------

    @Test
    void aSealedFileOpensOnlyOnANodeSatisfyingItsPolicy() throws Exception {
        String wellKnown = base + "/.well-known/attestmesh/sealing-keys";
        HttpResponse<String> keys = http.send(HttpRequest.newBuilder(URI.create(wellKnown)).GET().build(),
                HttpResponse.BodyHandlers.ofString()); // no credentials
        assertEquals(200, keys.statusCode(), keys.body());
        JsonNode key = JSON.readTree(keys.body()).get("keys").get(0);
        assertEquals("strict", key.get("policyId").asText());
        assertEquals("ACTIVE", key.get("state").asText());
        assertEquals(1, JSON.readTree(keys.body()).get("keys").size(), "only sealing policies have keys");
        Path plain = Files.write(dir.resolve("weights.bin"), VALUE);
        Path sealed = dir.resolve("weights.bin.sealed");
        Cli seal = cli("seal", "--policy", "strict", "--public-key-from", wellKnown, "--in", plain.toString(),
                "--out", sealed.toString());
        assertEquals(0, seal.code(), seal.err());

        NodeAgent member = agent("web-1", STRICT);
        NodeAgent outsider = agent("web-2", GOOD);
        member.attestOnce();
        outsider.attestOnce();
        Path opened = dir.resolve("opened");
        Cli ok = cli("unseal", "--secrets-dir", member.secretFiles().directory().toString(), "--in", sealed.toString(),
                "--out", opened.toString());
        assertEquals(0, ok.code(), ok.err());
        assertArrayEquals(VALUE, Files.readAllBytes(opened));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(opened)));

        Cli refused = cli("unseal", "--secrets-dir", outsider.secretFiles().directory().toString(), "--in",
                sealed.toString(), "--out", dir.resolve("nope").toString());
        assertEquals(1, refused.code());
        assertTrue(refused.err().contains("holds no key " + key.get("keyId").asText() + " of policy 'strict'"),
                refused.err());
        assertEquals(Optional.empty(), sdsValue("web-2", "sealing-" + key.get("keyId").asText()), "nor over SDS");
        assertFalse(Files.exists(dir.resolve("nope")));

        assertTrue(cp.registry().revoke("web-1", "test"));
        assertThrows(AttestationRefusedException.class, member::attestOnce);
        Cli revoked = cli("unseal", "--secrets-dir", member.secretFiles().directory().toString(), "--in",
                sealed.toString(), "--out", dir.resolve("nope").toString());
        assertEquals(1, revoked.code(), "a revoked node's key file is gone");
    }

    @Test
    void rotationKeepsOlderFilesReadableByMembersUntilTheOldKeyIsRetired() throws Exception {
        Path keys = dir.resolve("keys.json");
        Files.writeString(keys, send("GET", "/api/v1/sealing-keys", null).body());
        Path plain = Files.write(dir.resolve("p"), VALUE);
        assertEquals(0, cli("seal", "--policy", "strict", "--public-key-from", keys.toString(), "--in",
                plain.toString(), "--out", dir.resolve("old.sealed").toString()).code());
        String oldKey = SealedFileHeader.keyId(dir.resolve("old.sealed"));

        String[] admin = {"--admin", base, "--token", ADMIN_TOKEN};
        Cli rotate = cli("secrets", "rotate-sealing", "--policy", "strict", admin[0], admin[1], admin[2], admin[3]);
        assertEquals(0, rotate.code(), rotate.err());
        Files.writeString(keys, send("GET", "/api/v1/sealing-keys", null).body());
        assertEquals(0, cli("seal", "--policy", "strict", "--public-key-from", keys.toString(), "--in",
                plain.toString(), "--out", dir.resolve("new.sealed").toString()).code());
        String newKey = SealedFileHeader.keyId(dir.resolve("new.sealed"));
        assertFalse(oldKey.equals(newKey), "the new file uses the new key");

        NodeAgent member = agent("web-1", STRICT);
        member.attestOnce();
        String secrets = member.secretFiles().directory().toString();
        for (String f : List.of("old.sealed", "new.sealed")) {
            Cli c = cli("unseal", "--secrets-dir", secrets, "--in", dir.resolve(f).toString(), "--out",
                    dir.resolve(f + ".out").toString());
            assertEquals(0, c.code(), f + ": " + c.err());
        }
        assertEquals(1, cli("secrets", "retire-sealing", "--policy", "strict", "--key-id", newKey, admin[0], admin[1],
                admin[2], admin[3]).code(), "the active key cannot be retired");
        assertEquals(0, cli("secrets", "retire-sealing", "--policy", "strict", "--key-id", oldKey, admin[0], admin[1],
                admin[2], admin[3]).code());
        assertEquals(Optional.empty(), sdsValue("web-1", "sealing-" + oldKey), "retired: out of the next push");
        member.attestOnce();
        assertEquals(1, cli("unseal", "--secrets-dir", secrets, "--in", dir.resolve("old.sealed").toString(),
                "--out", dir.resolve("x").toString()).code(), "retired key no longer held");
        assertEquals(0, cli("unseal", "--secrets-dir", secrets, "--in", dir.resolve("new.sealed").toString(),
                "--out", dir.resolve("y").toString()).code());
        JsonNode listed = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(base
                + "/.well-known/attestmesh/sealing-keys")).GET().build(), HttpResponse.BodyHandlers.ofString()).body());
        assertEquals(1, listed.get("keys").size(), "retired keys are not served");
        assertEquals(newKey, listed.get("keys").get(0).get("keyId").asText());
    }

    @Test
    void theSealingKeyPrefixIsReservedAndRotationNeedsASealingPolicy() throws Exception {
        assertRefused(put("sealing-0123456789abcdef", VALUE, List.of("registration:web"), List.of()), "reserved");
        HttpResponse<String> r = send("POST", "/api/v1/sealing-keys/default/rotate", "{}");
        assertEquals(400, r.statusCode());
        assertTrue(r.body().contains("has no sealing key"), r.body());
    }

    /** Reads a sealed file's key id. */
    static final class SealedFileHeader {
        static String keyId(Path f) throws Exception {
            return dev.attestmesh.sealing.SealedFile.header(Files.readAllBytes(f)).keyId();
        }
    }

    record Cli(int code, String out, String err) {}

    static Cli cli(String... args) {
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        picocli.CommandLine cl = dev.attestmesh.cli.AttestMeshCli.commandLine();
        cl.setOut(new java.io.PrintWriter(out, true)).setErr(new java.io.PrintWriter(err, true));
        cl.setExecutionExceptionHandler((ex, cmd, parse) -> {
            cmd.getErr().println("attestmesh: " + ex.getMessage());
            return 1;
        });
        int code = cl.execute(args);
        return new Cli(code, out.toString(), err.toString());
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    void assertRefused(HttpResponse<String> r, String expected) {
        assertEquals(400, r.statusCode(), r.body());
        assertTrue(r.body().contains(expected), r.body());
        assertTrue(r.body().contains("nothing was stored"), r.body());
    }

    static void assertNoValueAnywhere(String text) {
        assertFalse(text.contains(new String(VALUE, StandardCharsets.UTF_8)), "value in clear");
        assertFalse(text.contains(Base64.getEncoder().encodeToString(VALUE)), "value in base64");
    }

    Optional<byte[]> sdsValue(String nodeId, String name) {
        Snapshot s = cp.xdsCache().getSnapshot(nodeId);
        if (s == null) {
            return Optional.empty();
        }
        Secret secret = s.secrets().resources().get("secret:" + name);
        return secret == null ? Optional.empty()
                : Optional.of(secret.getGenericSecret().getSecret().getInlineBytes().toByteArray());
    }

    FetchSecretsResponse fetch(NodeAgent agent, String asNode) {
        AgentCredentials c = agent.credentials().orElseThrow();
        ManagedChannel ch = ControlPlaneChannels.open("127.0.0.1:" + cp.grpcPort(), c.trustBundle(),
                agent.clientIdentity());
        try {
            return SecretServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .fetchSecrets(FetchSecretsRequest.newBuilder().setNodeId(asNode).build());
        } finally {
            ch.shutdownNow();
        }
    }

    NodeAgent agent(String id, String measurement) throws Exception {
        return new NodeAgent(new NodeAgent.Settings(id, "127.0.0.1:" + cp.grpcPort(),
                Pem.parseCertificates(Files.readString(cp.caBundleFile())), dir.resolve("nodes").resolve(id),
                Optional.empty(), Optional.empty()), SimulatedTee.withMeasurementHex(measurement), Clock.systemUTC());
    }

    static String body(byte[] value, List<String> allow, List<String> exports) throws Exception {
        return JSON.writeValueAsString(Map.of("value", Base64.getEncoder().encodeToString(value), "allow", allow,
                "exports", exports));
    }

    HttpResponse<String> put(String name, byte[] value, List<String> allow, List<String> exports) throws Exception {
        return send("PUT", "/api/v1/secrets/" + name, body(value, allow, exports));
    }

    HttpResponse<String> send(String method, String path, String json) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).header("Authorization",
                "Bearer " + ADMIN_TOKEN);
        if (json != null) {
            b.header("Content-Type", "application/json");
        }
        b.method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
