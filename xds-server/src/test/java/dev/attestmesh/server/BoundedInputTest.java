package dev.attestmesh.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.ControlPlaneChannels;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.agent.NodeKeyPair;
import dev.attestmesh.api.v1.AttestRequest;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.ChallengeRequest;
import dev.attestmesh.api.v1.RegistryEvent;
import dev.attestmesh.api.v1.WatchRegistryRequest;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.registry.NodeEntry;
import dev.attestmesh.server.revocation.RevocationKind;
import dev.attestmesh.server.revocation.RevocationRule;
import dev.attestmesh.server.store.TestPostgres;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bounded input end to end (docs/limits.md): oversized (at the limit, one past it, ten times it) and
 * malformed values (control characters, line breaks, NUL, {@code .}/{@code ..}, unpaired surrogates,
 * bytes that are not UTF-8, empty) driven through every write path of the control plane, on H2 and on
 * PostgreSQL. Each is refused at the edge with 400 (413 for a body over 1 MiB) / INVALID_ARGUMENT naming the limit, or accepted at
 * the limit as documented; a refusal stores nothing (the registry, the rules, the policies, the
 * registrations, the mesh config and every table's row count are unchanged); nothing answers 500 or
 * INTERNAL; after every case a normal attestation succeeds; and at the end the control plane restarts
 * on the data, holding a maximal value written through each path.
 */
class BoundedInputTest {
    static final String GOOD = ControlPlaneFixture.GOOD;
    static final String TOKEN = "bounded-input-test-admin-token";
    static final String TD = "spiffe://attestmesh.local/";
    static final ObjectMapper JSON = new ObjectMapper();
    /** A DNS subdomain of 253 characters (four labels). */
    static final String SA_253 = "s".repeat(63) + "." + "s".repeat(63) + "." + "s".repeat(63) + "." + "s".repeat(61);

    @Nested
    class OnH2 extends Cases {
        @Override
        Map<String, Object> database() {
            return Map.of();
        }
    }

    @Nested
    class OnPostgres extends Cases {
        @Override
        Map<String, Object> database() {
            // skips (assumption) when no PostgreSQL is available
            return Map.of("attestmesh.database.url", TestPostgres.freshSchema().url().orElseThrow());
        }
    }

    /** Every case, against one control plane on the database {@link #database()} names. */
    @TestInstance(TestInstance.Lifecycle.PER_CLASS)
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    abstract static class Cases {
        Path dir;
        Map<String, Object> props;
        ApplicationContext ctx;
        ControlPlane cp;
        String base;
        HttpClient http;
        ManagedChannel anonymous;
        AttestationServiceGrpc.AttestationServiceBlockingStub stub;
        NodeAgent baseline;
        AgentCredentials baselineCreds;
        final AtomicInteger probes = new AtomicInteger();
        final List<NodeAgent> agents = new ArrayList<>();

        /** Extra properties selecting the database. */
        abstract Map<String, Object> database();

        @BeforeAll
        void start() throws Exception {
            Map<String, Object> db = database();
            dir = Files.createTempDirectory("attestmesh-bounded");
            Path policies = Files.writeString(dir.resolve("policies.yaml"), ControlPlaneFixture.simPolicy("default", GOOD));
            props = new HashMap<>(Map.of(
                    "attestmesh.data-dir", dir.resolve("cp").toString(),
                    "attestmesh.grpc-bind", "127.0.0.1",
                    "attestmesh.grpc-port", 0,
                    "attestmesh.admin-port", 0,
                    "attestmesh.ca-key", "bounded-input-test-key",
                    "attestmesh.admin.token", TOKEN,
                    "attestmesh.dev-mode", true)); // the nodes here attest with the simulated TEE
            props.putAll(db);
            Map<String, Object> first = new HashMap<>(props);
            first.put("attestmesh.policy-file", policies.toString());
            first.put("attestmesh.registration-file",
                    dev.attestmesh.server.testing.TestMesh.writeRegistrations(dir).toString());
            boot(first);
            http = HttpClient.newHttpClient();
            baseline = agent("baseline-1", Optional.empty());
            baselineCreds = baseline.attestOnce();
        }

        void boot(Map<String, Object> properties) throws Exception {
            ctx = Micronaut.build(new String[0]).banner(false).properties(properties).start();
            cp = ctx.getBean(ControlPlane.class);
            base = "http://127.0.0.1:" + ctx.getBean(EmbeddedServer.class).getPort();
            if (anonymous != null) {
                anonymous.shutdownNow();
            }
            anonymous = ControlPlaneChannels.open("127.0.0.1:" + cp.grpcPort(), bundle(), Optional.empty());
            stub = AttestationServiceGrpc.newBlockingStub(anonymous);
        }

        @AfterAll
        void stop() throws IOException {
            agents.forEach(NodeAgent::close);
            if (anonymous != null) {
                anonymous.shutdownNow();
            }
            if (http != null) {
                http.close();
            }
            if (ctx != null) {
                ctx.close();
            }
            if (dir != null) {
                try (Stream<Path> s = Files.walk(dir)) {
                    s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }

        /** After every case, however it went, a normal attestation still succeeds. */
        @AfterEach
        void aNormalAttestationStillSucceeds() throws Exception {
            String id = "probe-" + probes.incrementAndGet();
            agent(id, Optional.empty()).attestOnce();
            assertEquals(NodeState.ATTESTED, cp.registry().entry(id).orElseThrow().state());
        }

        // ---------------------------------------------------------------- admin API: revocations

        static Stream<Arguments> reasons() {
            return Stream.of(
                    accept("at the limit (1024)", "r".repeat(1024)),
                    accept("empty", ""),
                    accept("printable non-ASCII", "Zugriff entzogen \u2013 Schl\u00fcssel kompromittiert \uD83D\uDD12"),
                    refuse("one past the limit", "r".repeat(1025), "1024"),
                    refuse("ten times the limit", "r".repeat(10_240), "1024"),
                    refuse("a line break", "first line\nsecond line", "1024"),
                    refuse("a carriage return", "a\rb", "1024"),
                    refuse("NUL", "a\u0000b", "1024"),
                    refuse("a C1 control", "a\u0085b", "1024"),
                    refuse("a bidi override", "a\u202Eb", "1024"),
                    refuse("a line separator", "a\u2028b", "1024"),
                    refuse("an unpaired surrogate", "a\uD800b", "1024"));
        }

        /** The reported bug: a reason near the limit overflowed the node's stored state reason. */
        @ParameterizedTest(name = "revocation reason: {0}")
        @MethodSource("reasons")
        void revocationReasonsAreBoundedAndTheStateReasonFitsItsColumn(String label, String reason, boolean accepted,
                String limit) throws Exception {
            String node = "rv-" + probes.get();
            agent(node, Optional.empty()).attestOnce();
            State before = state();
            HttpResponse<String> r = post("/api/v1/revocations", "application/json",
                    json("kind", "node", "value", node, "reason", reason));
            if (!accepted) {
                refused(r, limit, before);
                return;
            }
            assertEquals(201, r.statusCode(), r.body());
            NodeEntry revoked = cp.registry().entry(node).orElseThrow();
            assertEquals(NodeState.REVOKED, revoked.state());
            assertTrue(revoked.stateReason().length() <= NodeEntry.MAX_STATE_REASON_CHARS, label);
            assertTrue(revoked.stateReason().startsWith("revoked by revocation rule "), revoked.stateReason());
            assertEquals(revoked.stateReason(), storedStateReason(node), "what is stored is what is in force");
            String ruleId = JSON.readTree(r.body()).path("rule").path("id").asText();
            assertEquals(reason, cp.revocations().get(ruleId).orElseThrow().reason());
            HttpResponse<String> lifted = send("DELETE", "/api/v1/revocations/" + ruleId, null, null);
            assertEquals(200, lifted.statusCode(), lifted.body());
            assertEquals(before.rules(), state().rules(), "the rule and its platform rule are both gone");
            assertEquals(NodeState.EXPIRED, cp.registry().entry(node).orElseThrow().state());
        }

        static Stream<Arguments> ruleValues() {
            return Stream.of(
                    acceptRule("node", "n".repeat(128)),
                    refuseRule("node", "n".repeat(129), "128"),
                    refuseRule("node", "n".repeat(1290), "128"),
                    refuseRule("node", ".", "'.' or '..'"),
                    refuseRule("node", "..", "'.' or '..'"),
                    refuseRule("node", "", "128"),
                    refuseRule("node", "a\nb", "128"),
                    refuseRule("node", "a\u0000b", "128"),
                    acceptRule("measurement", "ab".repeat(128)),
                    refuseRule("measurement", "ab".repeat(129), "256"),
                    refuseRule("measurement", "ab".repeat(1290), "256"),
                    refuseRule("measurement", "abc", "256"),
                    acceptRule("policy", "p".repeat(63)),
                    refuseRule("policy", "p".repeat(64), "63"),
                    refuseRule("policy", "p".repeat(640), "63"),
                    refuseRule("policy", "..", "63"),
                    acceptRule("tcb-status", "OutOfDate"),
                    refuseRule("tcb-status", "OutOfDate".repeat(100), "UpToDate"),
                    // values are trimmed and normalised: nothing of the caller's spelling is kept
                    acceptRule("tcb-status", " OutOfDate\n"),
                    refuseRule("tcb-status", "Out\nOfDate", "UpToDate"),
                    acceptRule("advisory", "INTEL-SA-" + "0".repeat(55)),
                    refuseRule("advisory", "INTEL-SA-" + "0".repeat(56), "64"),
                    refuseRule("advisory", "A".repeat(640), "64"),
                    acceptRule("registration", "r".repeat(63)),
                    refuseRule("registration", "r".repeat(64), "63"),
                    refuseRule("registration", "r\u202Er", "63"),
                    acceptRule("platform", "sim:" + "0f".repeat(16)),
                    refuseRule("platform", "sim:" + "0f".repeat(17), "32 hex"),
                    refuseRule("platform", "snp-chip:" + "0f".repeat(640), "128 hex"),
                    refuseRule("nod\ne", "x", "use one of"),
                    refuseRule("k".repeat(1000), "x", "use one of"),
                    refuseRule("", "x", "use one of"));
        }

        @ParameterizedTest(name = "revocation rule {0} = {1}")
        @MethodSource("ruleValues")
        void revocationRuleValuesOfEveryKindAreBounded(String kind, String value, boolean accepted, String limit)
                throws Exception {
            State before = state();
            HttpResponse<String> r = post("/api/v1/revocations", "application/json",
                    json("kind", kind, "value", value, "reason", "bounded-input test"));
            if (!accepted) {
                refused(r, limit, before);
                return;
            }
            assertEquals(201, r.statusCode(), r.body());
            String ruleId = JSON.readTree(r.body()).path("rule").path("id").asText();
            assertEquals(200, send("DELETE", "/api/v1/revocations/" + ruleId, null, null).statusCode());
            assertEquals(before.rules(), state().rules());
        }

        @Test
        void revocationRequestsWithoutKindOrValueOrWithBytesThatAreNotUtf8AreRefused() throws Exception {
            State before = state();
            refused(post("/api/v1/revocations", "application/json", "{\"value\":\"x\"}"), "kind and value", before);
            refused(post("/api/v1/revocations", "application/json", "{\"kind\":\"node\"}"), "kind and value", before);
            refused(post("/api/v1/revocations", "application/json", "{\"kind\":null,\"value\":null}"), "kind and value",
                    before);
            HttpResponse<String> notUtf8 = send("POST", "/api/v1/revocations", "application/json",
                    concat("{\"kind\":\"node\",\"value\":\"baseline-1\",\"reason\":\"", new byte[] {(byte) 0xC3, 0x28},
                            "\"}"));
            assertEquals(400, notUtf8.statusCode(), notUtf8.body());
            assertEquals(before, state());
            assertEquals(NodeState.ATTESTED, cp.registry().entry("baseline-1").orElseThrow().state());
        }

        @Test
        void aCreatorNameLongerThanItsColumnIsCutNotStoredWhole() throws Exception {
            // Admin client-certificate principals are SPIFFE IDs, longer than the 128 the column keeps.
            var applied = cp.revocations().add(RevocationKind.ADVISORY, "INTEL-SA-99999", "creator test",
                    TD + "attestmesh/admin/" + "a".repeat(300));
            RevocationRule rule = applied.rule();
            assertTrue(rule.createdBy().length() <= 128, rule.createdBy());
            assertTrue(cp.revocations().remove(rule.id()).isPresent());
        }

        @Test
        void aRuleWriteThatFailsInTheDatabaseLeavesNoRuleBehind() throws Exception {
            State before = state();
            var store = new dev.attestmesh.server.revocation.RevocationStore(cp.database());
            java.time.Instant now = java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
            RevocationRule first = new RevocationRule(java.util.UUID.randomUUID().toString(), RevocationKind.ADVISORY,
                    "INTEL-SA-11111", "first", "test", now);
            RevocationRule clash = new RevocationRule(first.id(), RevocationKind.ADVISORY, "INTEL-SA-22222", "same id",
                    "test", now);
            assertThrows(dev.attestmesh.server.store.StoreException.class, () -> store.insertAll(List.of(first, clash)));
            assertTrue(store.loadAll().stream().noneMatch(r -> r.id().equals(first.id())), "both or neither");
            assertEquals(before, state());
        }

        // ---------------------------------------------------------------- admin API: release

        static Stream<Arguments> releaseReasons() {
            return Stream.of(
                    accept("at the limit (256)", "r".repeat(256)),
                    refuse("one past the limit", "r".repeat(257), "256"),
                    refuse("ten times the limit", "r".repeat(2560), "256"),
                    refuse("a line break", "a\nb", "256"),
                    refuse("NUL", "a\u0000b", "256"),
                    refuse("an unpaired surrogate", "a\uDC00b", "256"));
        }

        @ParameterizedTest(name = "release reason: {0}")
        @MethodSource("releaseReasons")
        void releaseReasonsAreBounded(String label, String reason, boolean accepted, String limit) throws Exception {
            String node = "rel-" + probes.get();
            agent(node, Optional.empty()).attestOnce();
            State before = state();
            HttpResponse<String> r = post("/api/v1/nodes/" + node + "/release", "application/json", json("reason", reason));
            if (!accepted) {
                refused(r, limit, before);
                return;
            }
            assertEquals(200, r.statusCode(), r.body());
            NodeEntry released = cp.registry().entry(node).orElseThrow();
            assertEquals(NodeState.EXPIRED, released.state());
            assertEquals("released by bootstrap-configured: " + reason, released.stateReason());
            assertEquals(released.stateReason(), storedStateReason(node));
        }

        @Test
        void releasingNodeIdsThatCannotExistChangesNothing() throws Exception {
            State before = state();
            for (String id : List.of("%2E", "%2E%2E", "n".repeat(1290), "a%0Ab", "a%00b")) {
                HttpResponse<String> r = post("/api/v1/nodes/" + id + "/release", "application/json", "{}");
                assertTrue(r.statusCode() == 404 || r.statusCode() == 400, id + ": " + r.statusCode() + " " + r.body());
                assertTrue(r.body().length() < 1024, "the answer quotes a bounded id: " + r.body().length());
            }
            assertEquals(before, state());
        }

        // ---------------------------------------------------------------- admin API: policies

        static Stream<Arguments> policyIds() {
            return Stream.of(
                    accept("63 characters (the limit)", "p".repeat(63)),
                    refuse("64 characters", "p".repeat(64), "63"),
                    refuse("640 characters", "p".repeat(640), "63"),
                    refuse("'..'", "..", "63"),
                    refuse("a line break", "a\nb", "63"),
                    refuse("NUL", "a\u0000b", "63"),
                    refuse("empty", "", "63"));
        }

        @ParameterizedTest(name = "policy id: {0}")
        @MethodSource("policyIds")
        void policyIdsAreBounded(String label, String id, boolean accepted, String limit) throws Exception {
            State before = state();
            HttpResponse<String> r = post("/api/v1/policies", "application/json", policyJson(id));
            if (!accepted) {
                refused(r, limit, before);
                return;
            }
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(204, send("DELETE", "/api/v1/policies/" + id, null, null).statusCode());
            assertEquals(before.policies(), state().policies());
        }

        @Test
        void policyDocumentsThatAreTooLargeNotUtf8OrBreakTheSetLimitChangeNothing() throws Exception {
            State before = state();
            // 10x the 1 MiB body limit
            refused(post("/api/v1/policies", "application/yaml", "policies: []\n#" + "x".repeat(10 * 1024 * 1024)),
                    "1 MiB", before);
            refused(send("POST", "/api/v1/policies", "application/yaml",
                    concat("policies:\n  - id: ", new byte[] {(byte) 0xFF, (byte) 0xFE}, "\n    tee: [sim]\n")), "",
                    before);
            refused(post("/api/v1/policies", "application/yaml", "policies: []\n#\u0000\n"), "", before);
            // the path id and the document's id must agree; a long path id is quoted bounded
            HttpResponse<String> put = send("PUT", "/api/v1/policies/" + "q".repeat(3000), "application/json",
                    policyJson("default").getBytes(StandardCharsets.UTF_8));
            refused(put, "exactly one policy", before);
            assertTrue(put.body().length() < 2048, "bounded answer: " + put.body().length());
            // the set limit: default + 31 fit, one more does not
            StringBuilder many = new StringBuilder("{\"policies\":[");
            for (int i = 0; i < 32; i++) {
                many.append(i == 0 ? "" : ",").append(policyBody("many-" + i));
            }
            refused(post("/api/v1/policies", "application/json", many + "]}"), "32", before);
        }

        // ---------------------------------------------------------------- admin API: registrations

        static Stream<Arguments> registrationDocuments() {
            String longPath = "s".repeat(512 - TD.length());
            String templated = "s".repeat(512 - TD.length() - 1 - 128);
            return Stream.of(
                    accept("SPIFFE ID of 512 characters", registrationJson("reg-max", TD + longPath, "long-*", null)),
                    accept("{nodeId} template granting 512", registrationJson("reg-tpl", TD + templated + "/{nodeId}",
                            "long-*", null)),
                    refuse("SPIFFE ID of 513 characters", registrationJson("reg-max", TD + longPath + "s", "long-*", null),
                            "512"),
                    refuse("{nodeId} template granting 513", registrationJson("reg-tpl", TD + templated + "s/{nodeId}",
                            "long-*", null), "512"),
                    refuse("SPIFFE ID of 5120 characters", registrationJson("reg-max", TD + "s".repeat(5100), "long-*",
                            null), "2048"),
                    refuse("SPIFFE ID with a line break", registrationJson("reg-nl", TD + "a\nb", "long-*", null),
                            "A-Z a-z 0-9"),
                    refuse("SPIFFE ID segment '..'", registrationJson("reg-dots", TD + "a/../b", "long-*", null), "'..'"),
                    accept("id of 63 characters", registrationJson("i".repeat(63), TD + "ids/max", "long-*", null)),
                    refuse("id of 64 characters", registrationJson("i".repeat(64), TD + "ids/max", "long-*", null), "62"),
                    accept("node-id glob of 128", registrationJson("glob-max", TD + "globs/max", "g".repeat(127) + "*",
                            null)),
                    refuse("node-id glob of 129", registrationJson("glob-max", TD + "globs/max", "g".repeat(128) + "*",
                            null), "128"),
                    refuse("node-id glob with NUL", registrationJson("glob-nul", TD + "globs/nul", "g\u0000*", null),
                            "128"),
                    accept("namespace of 63", registrationJson("k8s-max", TD + "k8s/max", null,
                            Map.of("namespace", "n".repeat(63), "serviceAccount", SA_253))),
                    refuse("namespace of 64", registrationJson("k8s-max", TD + "k8s/max", null,
                            Map.of("namespace", "n".repeat(64), "serviceAccount", "sa")), "63"),
                    refuse("service account of 254", registrationJson("k8s-max", TD + "k8s/max", null,
                            Map.of("namespace", "ns", "serviceAccount", SA_253 + "s")), "253"),
                    refuse("document with a 10x body", "{\"registrations\":[]}" + " ".repeat(10 * 1024 * 1024),
                            "1 MiB"));
        }

        @ParameterizedTest(name = "registration: {0}")
        @MethodSource("registrationDocuments")
        void registrationsAreBoundedBySizeAndByWhatTheStoreKeepsPerNode(String label, String document, boolean accepted,
                String limit) throws Exception {
            State before = state();
            HttpResponse<String> r = post("/api/v1/registrations", "application/json", document);
            if (!accepted) {
                refused(r, limit, before);
                return;
            }
            assertEquals(200, r.statusCode(), r.body());
            String id = JSON.readTree(r.body()).get(0).path("id").asText();
            assertEquals(204, send("DELETE", "/api/v1/registrations/" + id, null, null).statusCode());
            assertEquals(before.registrations(), state().registrations());
        }

        // ---------------------------------------------------------------- admin API: mesh config

        static Stream<Arguments> meshDocuments() {
            return Stream.of(
                    accept("member node id of 128", meshJson(List.of("n".repeat(128)), null, Map.of())),
                    refuse("member node id of 129", meshJson(List.of("n".repeat(129)), null, Map.of()), "128"),
                    refuse("member node id '..'", meshJson(List.of(".."), null, Map.of()), "'..'"),
                    refuse("member node id with a line break", meshJson(List.of("a\nb"), null, Map.of()), "128"),
                    accept("cluster of 256", meshJson(List.of("web-1"), "c".repeat(256), Map.of())),
                    refuse("cluster of 257", meshJson(List.of("web-1"), "c".repeat(257), Map.of()), "256"),
                    refuse("cluster of 2560", meshJson(List.of("web-1"), "c".repeat(2560), Map.of()), "256"),
                    accept("metadata value of 1024", meshJson(List.of("web-1"), null, Map.of("k", "v".repeat(1024)))),
                    refuse("metadata value of 1025", meshJson(List.of("web-1"), null, Map.of("k", "v".repeat(1025))),
                            "1024"),
                    refuse("metadata key of 129", meshJson(List.of("web-1"), null, Map.of("k".repeat(129), "v")), "128"),
                    accept("64 metadata entries", meshJson(List.of("web-1"), null, entries(64))),
                    refuse("65 metadata entries", meshJson(List.of("web-1"), null, entries(65)), "64"),
                    refuse("a 10x body", "{\"services\":[]}" + " ".repeat(10 * 1024 * 1024), "1 MiB"),
                    refuse("NUL in the document", "services: []\n#\u0000\n", "YAML"));
        }

        @ParameterizedTest(name = "mesh config: {0}")
        @MethodSource("meshDocuments")
        void meshConfigIsBounded(String label, String document, boolean accepted, String limit) throws Exception {
            State before = state();
            HttpResponse<String> r = send("PUT", "/api/v1/mesh", "application/json",
                    document.getBytes(StandardCharsets.UTF_8));
            if (!accepted) {
                refused(r, limit, before);
                return;
            }
            assertEquals(200, r.statusCode(), r.body());
            HttpResponse<String> reset = send("PUT", "/api/v1/mesh", "application/yaml",
                    "services: []\n".getBytes(StandardCharsets.UTF_8));
            assertEquals(200, reset.statusCode(), reset.body());
        }

        // ---------------------------------------------------------------- admin API: CA and tokens

        static Stream<Arguments> clientCertificateRequests() {
            return Stream.of(
                    accept("name of 63", clientCertJson("admin", "a".repeat(63), csrPem("x"), "P1D")),
                    refuse("name of 64", clientCertJson("admin", "a".repeat(64), csrPem("x"), "P1D"), "63"),
                    refuse("name of 640", clientCertJson("replica", "a".repeat(640), csrPem("x"), "P1D"), "63"),
                    refuse("name '..'", clientCertJson("admin", "..", csrPem("x"), "P1D"), "63"),
                    refuse("name with a line break", clientCertJson("admin", "a\nb", csrPem("x"), "P1D"), "63"),
                    refuse("empty name", clientCertJson("admin", "", csrPem("x"), "P1D"), "63"),
                    refuse("kind of 1000", clientCertJson("k".repeat(1000), "ops", csrPem("x"), "P1D"), "admin or replica"),
                    refuse("CSR of 16385", clientCertJson("admin", "ops", "c".repeat(16 * 1024 + 1), "P1D"), "16384"),
                    refuse("CSR of 10x", clientCertJson("admin", "ops", "c".repeat(160 * 1024), "P1D"), "16384"),
                    refuse("CSR with NUL", clientCertJson("admin", "ops", "-----BEGIN\u0000", "P1D"), "csr"),
                    refuse("ttl beyond P90D", clientCertJson("admin", "ops", csrPem("x"), "P91D"), "P90D"),
                    refuse("ttl of 1000 characters", clientCertJson("admin", "ops", csrPem("x"), "P".repeat(1000)),
                            "ISO-8601"));
        }

        @ParameterizedTest(name = "client certificate: {0}")
        @MethodSource("clientCertificateRequests")
        void clientCertificateRequestsAreBounded(String label, String body, boolean accepted, String limit)
                throws Exception {
            State before = state();
            HttpResponse<String> r = post("/api/v1/ca/client-certificates", "application/json", body);
            if (!accepted) {
                refused(r, limit, before);
                return;
            }
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(before.log() + 1, state().log(), "the issuance is logged");
        }

        static Stream<Arguments> tokenNames() {
            return Stream.of(
                    accept("name of 128", "t".repeat(128)),
                    refuse("name of 129", "t".repeat(129), "128"),
                    refuse("name of 1290", "t".repeat(1290), "128"),
                    refuse("name with a line break", "a\nb", "128"),
                    refuse("empty name", "", "128"));
        }

        @ParameterizedTest(name = "token: {0}")
        @MethodSource("tokenNames")
        void tokenNamesAreBounded(String label, String name, boolean accepted, String limit) throws Exception {
            State before = state();
            HttpResponse<String> r = post("/api/v1/tokens", "application/json", json("name", name, "role", "viewer"));
            if (!accepted) {
                refused(r, limit, before);
                return;
            }
            assertEquals(201, r.statusCode(), r.body());
            String id = JSON.readTree(r.body()).path("id").asText();
            assertEquals(204, send("DELETE", "/api/v1/tokens/" + id, null, null).statusCode());
            assertEquals(before, state());
        }

        @Test
        void tokenRequestsWithoutNameOrRoleAreRefused() throws Exception {
            State before = state();
            refused(post("/api/v1/tokens", "application/json", "{\"role\":\"viewer\"}"), "128", before);
            refused(post("/api/v1/tokens", "application/json", "{\"name\":\"x\"}"), "viewer, operator or admin", before);
            refused(post("/api/v1/tokens", "application/json", "{\"name\":\"x\",\"role\":\"" + "r".repeat(1000) + "\"}"),
                    "viewer, operator or admin", before);
        }

        // ---------------------------------------------------------------- gRPC: Challenge

        static Stream<Arguments> nodeIds() {
            return Stream.of(
                    accept("128 characters (the limit)", "n".repeat(128)),
                    refuse("129 characters", "n".repeat(129), "1-128"),
                    refuse("1280 characters", "n".repeat(1280), "1-128"),
                    refuse("'.'", ".", "'.' or '..'"),
                    refuse("'..'", "..", "'.' or '..'"),
                    refuse("empty", "", "1-128"),
                    refuse("a line break", "a\nb", "1-128"),
                    refuse("NUL", "a\u0000b", "1-128"),
                    refuse("a slash", "a/b", "1-128"),
                    refuse("non-ASCII", "kn\u00f6del", "1-128"));
        }

        @ParameterizedTest(name = "Challenge node_id: {0}")
        @MethodSource("nodeIds")
        void challengeNodeIdsAreValidatedAtTheEdge(String label, String nodeId, boolean accepted, String limit)
                throws Exception {
            State before = state();
            if (accepted) {
                assertEquals(32, stub.withDeadlineAfter(10, TimeUnit.SECONDS).challenge(ChallengeRequest.newBuilder()
                        .setNodeId(nodeId).build()).getNonce().size());
                return;
            }
            grpcRefused(() -> stub.withDeadlineAfter(10, TimeUnit.SECONDS).challenge(ChallengeRequest.newBuilder()
                    .setNodeId(nodeId).build()), Status.Code.INVALID_ARGUMENT, limit, before);
        }

        static Stream<Arguments> tokens() {
            return Stream.of(
                    // at the limit the token is read, and refused for what it is (no verifier trusts it)
                    Arguments.of("16384 characters (the limit)", "t".repeat(16 * 1024), Status.Code.UNAUTHENTICATED, ""),
                    Arguments.of("16385 characters", "t".repeat(16 * 1024 + 1), Status.Code.INVALID_ARGUMENT, "16384"),
                    Arguments.of("ten times", "t".repeat(160 * 1024), Status.Code.INVALID_ARGUMENT, "16384"),
                    Arguments.of("a line break", "a.b\n.c", Status.Code.UNAUTHENTICATED, ""));
        }

        @ParameterizedTest(name = "Challenge token: {0}")
        @MethodSource("tokens")
        void challengeTokensAreBounded(String label, String token, Status.Code code, String limit) throws Exception {
            State before = state();
            grpcRefused(() -> stub.withDeadlineAfter(10, TimeUnit.SECONDS).challenge(ChallengeRequest.newBuilder()
                    .setServiceAccountToken(token).build()), code, limit, before);
        }

        @Test
        void challengeAndAdsRequestsThatAreNotUtf8AreInvalidArguments() throws Exception {
            State before = state();
            // ChallengeRequest { node_id (1) = C3 28 }: a string field that is not UTF-8
            byte[] challenge = {0x0A, 0x02, (byte) 0xC3, 0x28};
            grpcRefused(() -> rawUnary(anonymous, "attestmesh.v1.AttestationService/Challenge", challenge),
                    Status.Code.INVALID_ARGUMENT, "UTF-8", before);
            byte[] attest = {0x0A, 0x03, 'a', 'b', 'c', 0x4A, 0x02, (byte) 0xFF, (byte) 0xFE};
            grpcRefused(() -> rawUnary(anonymous, "attestmesh.v1.AttestationService/Attest", attest),
                    Status.Code.INVALID_ARGUMENT, "UTF-8", before);
            // DiscoveryRequest { node (1) = Node { id (1) = C3 28 } }
            byte[] ads = {0x0A, 0x04, 0x0A, 0x02, (byte) 0xC3, 0x28};
            ManagedChannel ch = ControlPlaneChannels.open("127.0.0.1:" + cp.grpcPort(), baselineCreds.trustBundle(),
                    baseline.clientIdentity());
            try {
                Object first = rawStream(ch, "envoy.service.discovery.v3.AggregatedDiscoveryService/"
                        + "StreamAggregatedResources", ads);
                assertTrue(first instanceof StatusRuntimeException, String.valueOf(first));
                assertEquals(Status.Code.INVALID_ARGUMENT, ((StatusRuntimeException) first).getStatus().getCode(),
                        String.valueOf(first));
            } finally {
                ch.shutdownNow();
            }
            assertEquals(before, state());
        }

        // ---------------------------------------------------------------- gRPC: Attest

        static Stream<Arguments> attestFields() {
            return Stream.of(
                    Arguments.of("node_id of 129", field(b -> b.setNodeId("n".repeat(129))), Status.Code.INVALID_ARGUMENT,
                            "1-128"),
                    Arguments.of("node_id '..'", field(b -> b.setNodeId("..")), Status.Code.INVALID_ARGUMENT, "'..'"),
                    Arguments.of("node_id with NUL", field(b -> b.setNodeId("a\u0000b")), Status.Code.INVALID_ARGUMENT,
                            "1-128"),
                    Arguments.of("tee of 1000", field(b -> b.setTee("t".repeat(1000))), Status.Code.INVALID_ARGUMENT,
                            "sgx"),
                    // the TEE name is trimmed and matched against the four names: nothing else of it is kept
                    Arguments.of("tee with a line break", field(b -> b.setTee("sim\n")), Status.Code.FAILED_PRECONDITION,
                            "nonce"),
                    Arguments.of("tee with NUL", field(b -> b.setTee("s\u0000m")), Status.Code.INVALID_ARGUMENT, "sgx"),
                    // at the limit the request is read, and refused for what it is (no nonce was issued)
                    Arguments.of("spiffe_id of 512", field(b -> b.setSpiffeId(TD + "s".repeat(512 - TD.length()))),
                            Status.Code.FAILED_PRECONDITION, "nonce"),
                    Arguments.of("spiffe_id of 513", field(b -> b.setSpiffeId(TD + "s".repeat(513 - TD.length()))),
                            Status.Code.INVALID_ARGUMENT, "512"),
                    Arguments.of("spiffe_id of 5120", field(b -> b.setSpiffeId(TD + "s".repeat(5100))),
                            Status.Code.INVALID_ARGUMENT, "512"),
                    Arguments.of("spiffe_id with a line break", field(b -> b.setSpiffeId(TD + "a\nb")),
                            Status.Code.INVALID_ARGUMENT, "SPIFFE"),
                    Arguments.of("spiffe_id segment '..'", field(b -> b.setSpiffeId(TD + "a/../b")),
                            Status.Code.INVALID_ARGUMENT, "'..'"),
                    Arguments.of("evidence of 65536", field(b -> b.setEvidence(bytes(64 * 1024))),
                            Status.Code.FAILED_PRECONDITION, "nonce"),
                    Arguments.of("evidence of 65537", field(b -> b.setEvidence(bytes(64 * 1024 + 1))),
                            Status.Code.INVALID_ARGUMENT, "65536"),
                    Arguments.of("evidence of 10x", field(b -> b.setEvidence(bytes(640 * 1024))),
                            Status.Code.INVALID_ARGUMENT, "65536"),
                    Arguments.of("empty evidence", field(b -> b.setEvidence(ByteString.EMPTY)),
                            Status.Code.INVALID_ARGUMENT, "evidence is missing"),
                    Arguments.of("csr of 8192", field(b -> b.setCsr(bytes(8 * 1024))), Status.Code.FAILED_PRECONDITION,
                            "nonce"),
                    Arguments.of("csr of 8193", field(b -> b.setCsr(bytes(8 * 1024 + 1))), Status.Code.INVALID_ARGUMENT,
                            "8192"),
                    Arguments.of("csr of 10x", field(b -> b.setCsr(bytes(80 * 1024))), Status.Code.INVALID_ARGUMENT,
                            "8192"),
                    Arguments.of("empty csr", field(b -> b.setCsr(ByteString.EMPTY)), Status.Code.INVALID_ARGUMENT,
                            "csr is missing"),
                    Arguments.of("collateral of 1 MiB", field(b -> b.setCollateral(bytes(1024 * 1024))),
                            Status.Code.FAILED_PRECONDITION, "nonce"),
                    Arguments.of("collateral of 1 MiB + 1", field(b -> b.setCollateral(bytes(1024 * 1024 + 1))),
                            Status.Code.INVALID_ARGUMENT, "1048576"),
                    // ten times is beyond the gRPC message limit: refused by the transport, naming it
                    Arguments.of("collateral of 10 MiB", field(b -> b.setCollateral(bytes(10 * 1024 * 1024))),
                            Status.Code.RESOURCE_EXHAUSTED, "2097152"));
        }

        @ParameterizedTest(name = "Attest {0}")
        @MethodSource("attestFields")
        void attestFieldsAreBounded(String label, java.util.function.UnaryOperator<AttestRequest.Builder> change,
                Status.Code code, String limit) throws Exception {
            State before = state();
            AttestRequest.Builder valid = AttestRequest.newBuilder().setNodeId("attest-probe").setTee("sim")
                    .setEvidence(bytes(100)).setCsr(bytes(100)).setNonce(bytes(32));
            grpcRefused(() -> stub.withDeadlineAfter(20, TimeUnit.SECONDS).attest(change.apply(valid).build()), code,
                    limit, before);
        }

        // ---------------------------------------------------------------- gRPC: WatchRegistry

        static Stream<Arguments> replicaIds() {
            return Stream.of(
                    // at the limit the request is read, then refused for lack of a replica certificate
                    Arguments.of("256 characters (the limit)", "r".repeat(256), Status.Code.UNAUTHENTICATED, "mutual TLS"),
                    Arguments.of("257 characters", "r".repeat(257), Status.Code.INVALID_ARGUMENT, "256"),
                    Arguments.of("2560 characters", "r".repeat(2560), Status.Code.INVALID_ARGUMENT, "256"),
                    Arguments.of("a line break", "replica\nFAKE LOG LINE", Status.Code.INVALID_ARGUMENT, "256"),
                    Arguments.of("NUL", "a\u0000b", Status.Code.INVALID_ARGUMENT, "256"),
                    Arguments.of("a bidi override", "a\u202Eb", Status.Code.INVALID_ARGUMENT, "256"));
        }

        @ParameterizedTest(name = "WatchRegistry replica_id: {0}")
        @MethodSource("replicaIds")
        void watchRegistryReplicaIdsAreBounded(String label, String replicaId, Status.Code code, String limit)
                throws Exception {
            State before = state();
            grpcRefused(() -> {
                Iterator<RegistryEvent> it = stub.withDeadlineAfter(10, TimeUnit.SECONDS)
                        .watchRegistry(WatchRegistryRequest.newBuilder().setReplicaId(replicaId).build());
                return it.next();
            }, code, limit, before);
        }

        // ---------------------------------------------------------------- gRPC: ADS Node

        static Stream<Arguments> adsNodes() {
            String self = "baseline-1";
            return Stream.of(
                    Arguments.of("cluster of 256", node(self, "c".repeat(256), Map.of()), null, ""),
                    Arguments.of("metadata value of 1024", node(self, "web", Map.of("k", "v".repeat(1024))), null, ""),
                    Arguments.of("64 metadata entries", node(self, "web", entries(64)), null, ""),
                    Arguments.of("id of 129", node("n".repeat(129), "web", Map.of()), Status.Code.INVALID_ARGUMENT, "1-128"),
                    Arguments.of("id '..'", node("..", "web", Map.of()), Status.Code.INVALID_ARGUMENT, "'..'"),
                    Arguments.of("id with a line break", node("baseline-1\nFAKE", "web", Map.of()),
                            Status.Code.INVALID_ARGUMENT, "1-128"),
                    Arguments.of("cluster of 257", node(self, "c".repeat(257), Map.of()), Status.Code.INVALID_ARGUMENT,
                            "256"),
                    Arguments.of("cluster of 2560", node(self, "c".repeat(2560), Map.of()), Status.Code.INVALID_ARGUMENT,
                            "256"),
                    Arguments.of("metadata value of 1025", node(self, "web", Map.of("k", "v".repeat(1025))),
                            Status.Code.INVALID_ARGUMENT, "1024"),
                    Arguments.of("metadata value of 10x", node(self, "web", Map.of("k", "v".repeat(10_240))),
                            Status.Code.INVALID_ARGUMENT, "1024"),
                    Arguments.of("metadata key of 129", node(self, "web", Map.of("k".repeat(129), "v")),
                            Status.Code.INVALID_ARGUMENT, "128"),
                    Arguments.of("65 metadata entries", node(self, "web", entries(65)), Status.Code.INVALID_ARGUMENT,
                            "64"));
        }

        @ParameterizedTest(name = "ADS Node {0}")
        @MethodSource("adsNodes")
        void adsNodesAreBounded(String label, Node node, Status.Code code, String limit) throws Exception {
            State before = state();
            Object first = presentOverAds(node);
            if (code == null) {
                assertTrue(first instanceof DiscoveryResponse, label + ": " + first);
                assertEquals(node.getCluster(), cp.mesh().identityOf("baseline-1").cluster());
                return;
            }
            assertTrue(first instanceof StatusRuntimeException, label + ": " + first);
            Status status = ((StatusRuntimeException) first).getStatus();
            assertEquals(code, status.getCode(), status.toString());
            assertTrue(String.valueOf(status.getDescription()).contains(limit), status.toString());
            assertTrue(String.valueOf(status.getDescription()).length() < 1024, "a bounded description");
            assertEquals(before, state());
        }

        // ---------------------------------------------------------------- files read at start

        static Stream<Arguments> files() {
            byte[] notUtf8 = {'p', 'o', 'l', (byte) 0xC3, 0x28, '\n'};
            StringBuilder many = new StringBuilder("policies:\n");
            for (int i = 0; i < 33; i++) {
                many.append("  - {id: f").append(i).append(", tee: [sim]}\n");
            }
            String huge = "#" + "x".repeat(4 * 1024 * 1024) + "\n";
            return Stream.of(
                    Arguments.of("policy file over 4 MiB", "policy", utf8("policies: []\n" + huge), "4194304"),
                    Arguments.of("policy file not UTF-8", "policy", notUtf8, "UTF-8"),
                    Arguments.of("policy file with 33 policies", "policy", utf8(many.toString()), "32"),
                    Arguments.of("policy file with an id of 64", "policy", utf8("policies:\n  - {id: " + "p".repeat(64)
                            + ", tee: [sim]}\n"), "63"),
                    Arguments.of("registration file granting 513", "registration", utf8("registrations:\n  - id: r\n"
                            + "    spiffeId: " + TD + "s".repeat(513 - TD.length()) + "\n    policies: [default]\n"),
                            "512"),
                    Arguments.of("registration file over 4 MiB", "registration", utf8("registrations: []\n" + huge),
                            "4194304"),
                    Arguments.of("registration file not UTF-8", "registration", notUtf8, "UTF-8"),
                    Arguments.of("mesh file with node '..'", "mesh", utf8(meshJson(List.of(".."), null, Map.of())),
                            "'..'"),
                    Arguments.of("mesh file with a cluster of 257", "mesh", utf8(meshJson(List.of("web-1"),
                            "c".repeat(257), Map.of())), "256"),
                    Arguments.of("mesh file over 4 MiB", "mesh", utf8("services: []\n" + huge), "4194304"),
                    Arguments.of("mesh file not UTF-8", "mesh", notUtf8, "UTF-8"));
        }

        /**
         * A control plane started with a file beyond a limit does not start, names the limit, and stores
         * nothing of the file (on PostgreSQL it shares this control plane's database, whose state is
         * compared).
         */
        @ParameterizedTest(name = "{0}")
        @MethodSource("files")
        void filesReadAtStartAreBounded(String label, String kind, byte[] content, String limit) throws Exception {
            State before = state();
            Path d = Files.createTempDirectory(dir, "file-");
            Path file = Files.write(d.resolve(kind + ".yaml"), content);
            Object url = props.get("attestmesh.database.url");
            dev.attestmesh.server.store.DatabaseSettings db = url == null
                    ? dev.attestmesh.server.store.DatabaseSettings.embedded()
                    : new dev.attestmesh.server.store.DatabaseSettings(Optional.of(url.toString()), Optional.empty(),
                            Optional.empty(), 2);
            ControlPlaneSettings settings = new ControlPlaneSettings(d.resolve("cp"), "127.0.0.1", 0,
                    kind.equals("policy") ? Optional.of(file) : Optional.empty(), "attestmesh.local",
                    Optional.of("bounded-input-test-key"), List.of("localhost"), "/var/run/attestmesh/key.pem",
                    java.time.Duration.ofMinutes(2)).withDatabase(db).withDevMode(true)
                    .withRegistrationFile(kind.equals("registration") ? Optional.of(file) : Optional.empty());
            RuntimeException e = assertThrows(RuntimeException.class, () -> ControlPlane.start(settings,
                    Clock.systemUTC(), EvidenceVerifierSet.defaults(),
                    kind.equals("mesh") ? Optional.of(file) : Optional.empty()).close());
            assertTrue(e instanceof IllegalArgumentException, "refused as invalid input, not a store failure: " + e);
            assertTrue(e.getMessage().contains(limit), "names the limit '" + limit + "': "
                    + e.getMessage().substring(0, Math.min(e.getMessage().length(), 2000)));
            assertTrue(e.getMessage().length() < 16 * 1024, "a bounded message");
            assertEquals(before, state(), "nothing of the file is stored");
        }

        static byte[] utf8(String s) {
            return s.getBytes(StandardCharsets.UTF_8);
        }

        // ---------------------------------------------------------------- restart on maximal values

        /**
         * Writes a maximal value through each path that stores one, then restarts the control plane on the
         * same database: it starts, everything is as it was, and a normal attestation succeeds.
         */
        @Test
        @Order(Integer.MAX_VALUE)
        void theControlPlaneRestartsOnMaximalValuesWrittenThroughEveryPath() throws Exception {
            // a revocation whose reason is at the limit, kept in force (the reported failure)
            String victim = "victim-1";
            agent(victim, Optional.empty()).attestOnce();
            assertEquals(201, post("/api/v1/revocations", "application/json",
                    json("kind", "node", "value", victim, "reason", "r".repeat(1024))).statusCode());
            // every other kind of rule at its longest value, reason at the limit
            for (String[] kv : List.of(new String[] {"measurement", "cd".repeat(128)},
                    new String[] {"policy", "p".repeat(63)}, new String[] {"advisory", "A".repeat(64)},
                    new String[] {"registration", "r".repeat(63)},
                    new String[] {"platform", "snp-chip:" + "0e".repeat(64)})) {
                HttpResponse<String> r = post("/api/v1/revocations", "application/json",
                        json("kind", kv[0], "value", kv[1], "reason", "\u00fc".repeat(1024)));
                assertEquals(201, r.statusCode(), r.body());
            }
            // a release with the longest reason
            String released = "released-1";
            agent(released, Optional.empty()).attestOnce();
            assertEquals(200, post("/api/v1/nodes/" + released + "/release", "application/json",
                    json("reason", "z".repeat(256))).statusCode());
            // the largest policy set (32), every policy with the longest id, all satisfied by one node
            StringBuilder policies = new StringBuilder("{\"policies\":[");
            for (int i = 0; i < 31; i++) {
                String id = String.format("%02d", i) + "p".repeat(61);
                policies.append(i == 0 ? "" : ",").append(policyBody(id));
            }
            HttpResponse<String> set = post("/api/v1/policies", "application/json", policies + "]}");
            assertEquals(200, set.statusCode(), set.body());
            // a registration granting a 512-character SPIFFE ID to a 128-character node id
            String template = TD + "s".repeat(512 - TD.length() - 1 - 128) + "/{nodeId}";
            HttpResponse<String> reg = post("/api/v1/registrations", "application/json",
                    registrationJson("longest", template, "long-*", null));
            assertEquals(200, reg.statusCode(), reg.body());
            String longNode = "long-" + "x".repeat(123);
            String granted = template.replace("{nodeId}", longNode);
            assertEquals(512, granted.length());
            AgentCredentials longCreds = agent(longNode, Optional.of(granted)).attestOnce();
            NodeEntry longEntry = cp.registry().entry(longNode).orElseThrow();
            assertEquals(granted, longEntry.spiffeId());
            assertEquals(32, longEntry.satisfiedPolicies().size(), "it satisfies every policy");
            assertEquals(granted, longCreds.claims().getSpiffeId());
            // a mesh config at the limits a node may present
            HttpResponse<String> mesh = send("PUT", "/api/v1/mesh", "application/json",
                    meshJson(List.of(longNode), "c".repeat(256), entries(64)).getBytes(StandardCharsets.UTF_8));
            assertEquals(200, mesh.statusCode(), mesh.body());
            // a client certificate and a token with the longest names
            assertEquals(200, post("/api/v1/ca/client-certificates", "application/json",
                    clientCertJson("admin", "a".repeat(63), csrPem("x"), "P1D")).statusCode());
            assertEquals(201, post("/api/v1/tokens", "application/json", json("name", "t".repeat(128), "role",
                    "viewer")).statusCode());

            State written = state();
            assertEquals(NodeState.REVOKED, cp.registry().entry(victim).orElseThrow().state());
            ctx.close();
            boot(props); // same database, no policy or registration file: the stored state is what loads
            assertEquals(written, state(), "the control plane restarts with everything as it was");
            assertEquals(NodeState.REVOKED, cp.registry().entry(victim).orElseThrow().state());
            assertEquals(granted, cp.registry().entry(longNode).orElseThrow().spiffeId());
            assertTrue(cp.issuanceLog().verify().intact(), "the issuance log verifies");
            // and attests: the registrations now include 'longest', so ordinary nodes ask for theirs
            String after = "after-restart";
            agent(after, Optional.of(TD + "node/" + after)).attestOnce();
            assertEquals(NodeState.ATTESTED, cp.registry().entry(after).orElseThrow().state());
        }

        // ---------------------------------------------------------------- helpers

        /** What a refusal must leave as it was: the registry, the rules and every table's row count. */
        record State(Map<String, String> nodes, long log, List<String> rules, Map<String, Long> policies,
                Map<String, Long> registrations, long meshVersion, Map<String, Long> rows) {}

        State state() throws Exception {
            Map<String, String> nodes = new TreeMap<>();
            cp.registry().entries().forEach(e -> nodes.put(e.nodeId(), e.state() + "|" + e.stateReason() + "|"
                    + e.spiffeId() + "|" + e.certSha256() + "|" + new TreeMap<>(e.satisfiedPolicies())));
            List<String> rules = cp.revocations().all().stream().map(r -> r.id() + "|" + r.kind() + "|" + r.value() + "|"
                    + r.reason() + "|" + r.createdBy()).sorted().toList();
            Map<String, Long> policies = new TreeMap<>();
            cp.policies().all().forEach(p -> policies.put(p.id(), p.version()));
            Map<String, Long> registrations = new TreeMap<>();
            cp.registrations().all().forEach(r -> registrations.put(r.id(), r.version()));
            Map<String, Long> rows = new TreeMap<>();
            try (Connection c = cp.database().connection(); Statement s = c.createStatement()) {
                for (String table : List.of("nodes", "revocations", "policies", "registrations", "mesh_config",
                        "admin_tokens", "issuance_log")) {
                    try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM " + table)) {
                        rs.next();
                        rows.put(table, rs.getLong(1));
                    }
                }
            }
            return new State(nodes, cp.issuanceLog().verify().entriesChecked(), rules, policies, registrations,
                    cp.mesh().current().version(), rows);
        }

        String storedStateReason(String nodeId) throws Exception {
            try (Connection c = cp.database().connection();
                    var ps = c.prepareStatement("SELECT state_reason FROM nodes WHERE node_id = ?")) {
                ps.setString(1, nodeId);
                try (ResultSet rs = ps.executeQuery()) {
                    assertTrue(rs.next(), nodeId);
                    return rs.getString(1);
                }
            }
        }

        void refused(HttpResponse<String> r, String limit, State before) throws Exception {
            assertNotEquals(500, r.statusCode() / 100 * 100, "never a server error: " + r.body());
            // a body over the request size limit is 413 (Payload Too Large); every other refusal 400
            assertEquals(limit.equals("1 MiB") ? 413 : 400, r.statusCode(), r.body());
            assertTrue(r.body().contains(limit), "the answer names the limit '" + limit + "': " + r.body());
            assertEquals(before, state(), "a refusal stores nothing");
        }

        void grpcRefused(ThrowingSupplier call, Status.Code code, String limit, State before) throws Exception {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::get);
            Status s = e.getStatus();
            assertNotEquals(Status.Code.INTERNAL, s.getCode(), s.toString());
            assertNotEquals(Status.Code.UNKNOWN, s.getCode(), s.toString());
            assertEquals(code, s.getCode(), s.toString());
            assertTrue(String.valueOf(s.getDescription()).contains(limit), "names the limit '" + limit + "': " + s);
            assertTrue(String.valueOf(s.getDescription()).length() < 4096, "a bounded description");
            assertEquals(before, state(), "a refusal stores nothing");
        }

        @FunctionalInterface
        interface ThrowingSupplier {
            Object get() throws Exception;
        }

        HttpResponse<String> post(String path, String contentType, String body) throws Exception {
            return send("POST", path, contentType, body.getBytes(StandardCharsets.UTF_8));
        }

        HttpResponse<String> send(String method, String path, String contentType, byte[] body) throws Exception {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).header("Authorization",
                    "Bearer " + TOKEN);
            if (contentType != null) {
                b.header("Content-Type", contentType);
            }
            b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
            return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        }

        List<X509Certificate> bundle() throws Exception {
            return Pem.parseCertificates(Files.readString(cp.caBundleFile()));
        }

        NodeAgent agent(String nodeId, Optional<String> identity) throws Exception {
            NodeAgent a = new NodeAgent(new NodeAgent.Settings(nodeId, "127.0.0.1:" + cp.grpcPort(), bundle(),
                    dir.resolve("nodes").resolve(nodeId.length() > 40 ? nodeId.substring(0, 40) : nodeId),
                    Optional.empty(), identity), SimulatedTee.withMeasurementHex(GOOD), Clock.systemUTC());
            agents.add(a);
            return a;
        }

        /** The first answer of an ADS stream on which the baseline node presents {@code node}. */
        Object presentOverAds(Node node) throws Exception {
            ManagedChannel ch = ControlPlaneChannels.open("127.0.0.1:" + cp.grpcPort(), baselineCreds.trustBundle(),
                    baseline.clientIdentity());
            try {
                LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
                StreamObserver<DiscoveryRequest> req = AggregatedDiscoveryServiceGrpc.newStub(ch)
                        .streamAggregatedResources(new StreamObserver<>() {
                            @Override
                            public void onNext(DiscoveryResponse v) {
                                events.add(v);
                            }

                            @Override
                            public void onError(Throwable t) {
                                events.add(t);
                            }

                            @Override
                            public void onCompleted() {}
                        });
                req.onNext(DiscoveryRequest.newBuilder().setNode(node)
                        .setTypeUrl("type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret")
                        .addResourceNames("default").build());
                Object first = events.poll(10, TimeUnit.SECONDS);
                req.onCompleted();
                return first;
            } finally {
                ch.shutdownNow();
            }
        }

        static final MethodDescriptor.Marshaller<byte[]> RAW = new MethodDescriptor.Marshaller<>() {
            @Override
            public InputStream stream(byte[] value) {
                return new ByteArrayInputStream(value);
            }

            @Override
            public byte[] parse(InputStream stream) {
                try {
                    return stream.readAllBytes();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };

        static byte[] rawUnary(ManagedChannel ch, String method, byte[] request) {
            MethodDescriptor<byte[], byte[]> md = MethodDescriptor.<byte[], byte[]>newBuilder()
                    .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName(method)
                    .setRequestMarshaller(RAW).setResponseMarshaller(RAW).build();
            return ClientCalls.blockingUnaryCall(ch, md, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
                    request);
        }

        static Object rawStream(ManagedChannel ch, String method, byte[] request) throws InterruptedException {
            MethodDescriptor<byte[], byte[]> md = MethodDescriptor.<byte[], byte[]>newBuilder()
                    .setType(MethodDescriptor.MethodType.BIDI_STREAMING).setFullMethodName(method)
                    .setRequestMarshaller(RAW).setResponseMarshaller(RAW).build();
            LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
            ClientCall<byte[], byte[]> call = ch.newCall(md, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS));
            call.start(new ClientCall.Listener<>() {
                @Override
                public void onMessage(byte[] message) {
                    events.add(message);
                }

                @Override
                public void onClose(Status status, Metadata trailers) {
                    events.add(status.asRuntimeException());
                }
            }, new Metadata());
            call.request(1);
            call.sendMessage(request);
            Object first = events.poll(10, TimeUnit.SECONDS);
            call.cancel("done", null);
            return first;
        }

        static Arguments accept(String label, String value) {
            return Arguments.of(label, value, true, "");
        }

        static Arguments refuse(String label, String value, String limit) {
            return Arguments.of(label, value, false, limit);
        }

        static Arguments acceptRule(String kind, String value) {
            return Arguments.of(kind, value, true, "");
        }

        static Arguments refuseRule(String kind, String value, String limit) {
            return Arguments.of(kind, value, false, limit);
        }

        static java.util.function.UnaryOperator<AttestRequest.Builder> field(
                java.util.function.UnaryOperator<AttestRequest.Builder> change) {
            return change;
        }

        static ByteString bytes(int n) {
            return ByteString.copyFrom(new byte[n]);
        }

        static Node node(String id, String cluster, Map<String, String> metadata) {
            Struct.Builder md = Struct.newBuilder();
            metadata.forEach((k, v) -> md.putFields(k, Value.newBuilder().setStringValue(v).build()));
            return Node.newBuilder().setId(id).setCluster(cluster).setMetadata(md).build();
        }

        static Map<String, String> entries(int n) {
            Map<String, String> m = new LinkedHashMap<>();
            for (int i = 0; i < n; i++) {
                m.put("key-" + i, "value-" + i);
            }
            return m;
        }

        /** A JSON object of string fields; every character outside printable ASCII is escaped. */
        static String json(String... kv) {
            StringBuilder b = new StringBuilder("{");
            for (int i = 0; i < kv.length; i += 2) {
                b.append(i == 0 ? "" : ",").append(quote(kv[i])).append(':').append(quote(kv[i + 1]));
            }
            return b.append('}').toString();
        }

        static String quote(String s) {
            StringBuilder b = new StringBuilder("\"");
            for (char c : s.toCharArray()) {
                if (c == '"' || c == '\\') {
                    b.append('\\').append(c);
                } else if (c < 0x20 || c > 0x7E) {
                    b.append(String.format("\\u%04x", (int) c));
                } else {
                    b.append(c);
                }
            }
            return b.append('"').toString();
        }

        static byte[] concat(String head, byte[] middle, String tail) {
            byte[] h = head.getBytes(StandardCharsets.UTF_8);
            byte[] t = tail.getBytes(StandardCharsets.UTF_8);
            byte[] out = new byte[h.length + middle.length + t.length];
            System.arraycopy(h, 0, out, 0, h.length);
            System.arraycopy(middle, 0, out, h.length, middle.length);
            System.arraycopy(t, 0, out, h.length + middle.length, t.length);
            return out;
        }

        static String policyBody(String id) {
            return "{\"id\":" + quote(id) + ",\"tee\":[\"sim\"],\"reference\":{\"sim\":{\"measurement\":[\"" + GOOD
                    + "\"]}}}";
        }

        static String policyJson(String id) {
            return "{\"policies\":[" + policyBody(id) + "]}";
        }

        static String registrationJson(String id, String spiffeId, String nodeGlob, Map<String, String> k8s) {
            StringBuilder sel = new StringBuilder();
            if (nodeGlob != null) {
                sel.append("\"nodeId\":").append(quote(nodeGlob));
            }
            if (k8s != null) {
                sel.append(sel.isEmpty() ? "" : ",").append("\"kubernetes\":").append(json("namespace",
                        k8s.get("namespace"), "serviceAccount", k8s.get("serviceAccount")));
            }
            return "{\"registrations\":[{\"id\":" + quote(id) + ",\"spiffeId\":" + quote(spiffeId)
                    + ",\"policies\":[\"default\"],\"selectors\":{" + sel + "}}]}";
        }

        static String meshJson(List<String> nodes, String cluster, Map<String, String> metadata) {
            String members = "\"nodes\":[" + nodes.stream().map(Cases::quote).collect(Collectors.joining(",")) + "]"
                    + (cluster == null ? "" : ",\"cluster\":" + quote(cluster))
                    + (metadata.isEmpty() ? "" : ",\"metadata\":" + json(metadata.entrySet().stream()
                            .flatMap(e -> Stream.of(e.getKey(), e.getValue())).toArray(String[]::new)));
            return "{\"services\":[{\"name\":\"web\",\"members\":{" + members
                    + "},\"ingress\":[{\"port\":8443,\"appPort\":8080}]}]}";
        }

        static String clientCertJson(String kind, String name, String csr, String ttl) {
            return json("kind", kind, "name", name, "csr", csr, "ttl", ttl);
        }

        static String csrPem(String cn) {
            return "-----BEGIN CERTIFICATE REQUEST-----\n"
                    + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                            .encodeToString(NodeKeyPair.generate().csrDer(cn))
                    + "\n-----END CERTIFICATE REQUEST-----\n";
        }
    }
}
