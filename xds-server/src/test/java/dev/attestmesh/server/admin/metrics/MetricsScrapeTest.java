package dev.attestmesh.server.admin.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.ControlPlaneChannels;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.agent.NodeKeyPair;
import dev.attestmesh.api.v1.AttestRequest;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.ChallengeRequest;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.issuance.ReportDataBinding;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.attest.AttestationFailureReason;
import dev.attestmesh.server.demo.DemoAuthzClient;
import dev.attestmesh.server.testing.OpenAdsStream;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.time.Duration;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code GET /metrics} of a running control plane (Micronaut on loopback) after a small flow: two nodes attest,
 * one node with an unapproved measurement is refused, hostile Attest requests are refused, Checks are answered.
 * The scrape is read as Prometheus text: names, types and values of the operator metrics, and no label value
 * taken from a caller.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MetricsScrapeTest {
    static final String GOOD = "a1".repeat(48);
    static final String TOKEN = "metrics-scrape-test-token-0123456789";
    static final String REPLICA = "spiffe://attestmesh.local/attestmesh/replica/authz-1";
    static final String HOSTILE = "evil\"} 1\nattestmesh_pwned{x=\"<script>";

    Path dir;
    ApplicationContext ctx;
    ControlPlane cp;
    String base;
    HttpClient http;
    NodeAgent web1;
    AgentCredentials web1Creds;
    ManagedChannel channel;
    AttestationServiceGrpc.AttestationServiceBlockingStub stub;

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("attestmesh-metrics");
        Path policies = dir.resolve("policies.yaml");
        Files.writeString(policies, """
                policies:
                  - id: default
                    tee: [sim]
                    reference:
                      sim:
                        measurement: ["%s"]
                """.formatted(GOOD));
        Map<String, Object> props = new HashMap<>(Map.of(
                "attestmesh.data-dir", dir.resolve("cp").toString(),
                "attestmesh.grpc-bind", "127.0.0.1",
                "attestmesh.grpc-port", 0,
                "attestmesh.admin-port", 0,
                "attestmesh.ca-key", "metrics-scrape-test-key",
                "attestmesh.dev-mode", true,
                "attestmesh.admin.token", TOKEN,
                "attestmesh.policy-file", policies.toString(),
                "attestmesh.registration-file",
                dev.attestmesh.server.testing.TestMesh.writeRegistrations(dir).toString()));
        props.put("attestmesh.authz.replica-identities", REPLICA);
        props.put("attestmesh.metrics.node-certificate-series", 1);
        ctx = Micronaut.build(new String[0]).banner(false).properties(props).start();
        cp = ctx.getBean(ControlPlane.class);
        base = "http://127.0.0.1:" + ctx.getBean(EmbeddedServer.class).getPort();
        http = HttpClient.newHttpClient();
        web1 = agent("web-1", GOOD);
        web1Creds = web1.attestOnce();
        agent("web-2", GOOD).attestOnce();
        channel = ControlPlaneChannels.open("127.0.0.1:" + cp.grpcPort(),
                Pem.parseCertificates(Files.readString(cp.caBundleFile())), Optional.empty());
        stub = AttestationServiceGrpc.newBlockingStub(channel);
    }

    @AfterAll
    void stop() throws Exception {
        if (channel != null) {
            channel.shutdownNow();
        }
        http.close();
        if (ctx != null) {
            ctx.close();
        }
        try (var s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    NodeAgent agent(String id, String measurement) throws Exception {
        return new NodeAgent(new NodeAgent.Settings(id, "127.0.0.1:" + cp.grpcPort(),
                Pem.parseCertificates(Files.readString(cp.caBundleFile())), dir.resolve("nodes").resolve(id),
                Optional.empty(), Optional.empty()), SimulatedTee.withMeasurementHex(measurement), Clock.systemUTC());
    }

    PrometheusText scrape() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics"))
                .header("Authorization", "Bearer " + TOKEN).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
        return PrometheusText.parse(r.body());
    }

    /** The raw exposition, for the checks that need the text itself. */
    String scrapeText() throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).header("Authorization", "Bearer " + TOKEN)
                .build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    Set<Map<String, String>> labelSets(PrometheusText t, String name) {
        return t.samples(name).stream().map(PrometheusText.Sample::labels).collect(Collectors.toSet());
    }

    @Test
    void operatorMetricsAreExportedWithTheirPrometheusTypes() throws Exception {
        try (DemoAuthzClient authz = new DemoAuthzClient("127.0.0.1:" + cp.grpcPort(), web1)) {
            assertTrue(authz.check(web1Creds.leaf(), web1Creds.claims().getSpiffeId(), List.of("default")).allowed());
            assertFalse(authz.check(web1Creds.leaf(), web1Creds.claims().getSpiffeId(), List.of("nope")).allowed());
        }
        PrometheusText t = scrape();
        Map<String, String> expected = new java.util.LinkedHashMap<>();
        expected.put("attestmesh_attestation_failures_total", "counter");
        expected.put("attestmesh_extauthz_check_duration_seconds", "histogram");
        expected.put("attestmesh_node_certificate_expiry_seconds", "gauge");
        expected.put("attestmesh_node_certificates_expiring", "gauge");
        expected.put("attestmesh_node_certificate_earliest_expiry_seconds", "gauge");
        expected.put("attestmesh_node_certificate_expiry_series_omitted", "gauge");
        expected.put("attestmesh_xds_nacked_proxies", "gauge");
        expected.put("attestmesh_xds_stale_proxies", "gauge");
        expected.put("attestmesh_authz_replica_last_sync_age_seconds", "gauge");
        expected.put("attestmesh_authz_replica_watching", "gauge");
        expected.put("attestmesh_collateral_next_update_seconds", "gauge");
        expected.put("jvm_memory_used_bytes", "gauge");
        expected.put("jvm_threads_live_threads", "gauge");
        expected.put("jvm_classes_loaded_classes", "gauge");
        expected.put("process_uptime_seconds", "gauge");
        expected.put("process_cpu_usage", "gauge");
        expected.put("process_files_open_files", "gauge");
        expected.forEach((name, type) -> assertEquals(type, t.types().get(name), name + " in " + t.types().keySet()));

        // Check latency: one allow and one deny, each in a bucket at or below 1 s.
        assertEquals(1.0, t.value("attestmesh_extauthz_check_duration_seconds_count", Map.of("decision", "allow")));
        assertEquals(1.0, t.value("attestmesh_extauthz_check_duration_seconds_count", Map.of("decision", "deny")));
        assertEquals(1.0, t.value("attestmesh_extauthz_check_duration_seconds_bucket",
                Map.of("decision", "allow", "le", "1.0")));

        // Certificate expiry: two attested nodes, one series (the cap), the other counted as omitted.
        assertEquals(1, t.samples("attestmesh_node_certificate_expiry_seconds").size());
        assertEquals(1.0, t.value("attestmesh_node_certificate_expiry_series_omitted", Map.of()));
        assertEquals(2.0, t.value("attestmesh_node_certificates_expiring", Map.of("within_seconds", "+Inf")));
        assertEquals(2.0, t.value("attestmesh_node_certificates_expiring", Map.of("within_seconds", "86400")));
        assertEquals(0.0, t.value("attestmesh_node_certificates_expiring", Map.of("within_seconds", "300")));
        double earliest = t.value("attestmesh_node_certificate_earliest_expiry_seconds", Map.of());
        assertTrue(earliest > 300 && earliest <= 3600, "default 1 h certificates: " + earliest);
        double perNode = t.samples("attestmesh_node_certificate_expiry_seconds").getFirst().value();
        assertEquals(earliest, perNode, 2.0, "the series kept is the one expiring first");

        // The configured replica never connected: not watching, its age grows from the start.
        assertEquals(0.0, t.value("attestmesh_authz_replica_watching", Map.of("replica", REPLICA)));
        assertTrue(t.value("attestmesh_authz_replica_last_sync_age_seconds", Map.of("replica", REPLICA)) >= 0);
        // Nothing cached yet (simulated TEE only): NaN per kind, one series per kind.
        assertEquals(Set.copyOf(CollateralExpiryMetrics.KINDS), t.samples("attestmesh_collateral_next_update_seconds")
                .stream().map(s -> s.labels().get("kind")).collect(Collectors.toSet()));
    }

    @Test
    void aProxyThatNacksIsCountedEvenWhenTheRejectedVersionIsResent() throws Exception {
        try (OpenAdsStream ads = OpenAdsStream.open("127.0.0.1:" + cp.grpcPort(), web1Creds,
                web1.clientIdentity().orElseThrow())) {
            DiscoveryResponse first = ads.awaitFirstResponse(Duration.ofSeconds(10));
            ads.answer(first, Optional.of("rejected: " + HOSTILE));
            awaitGauge("attestmesh_xds_nacked_proxies", 1.0);
            assertFalse(scrapeText().contains("evil"), "the NACK detail is not a label");
        }
    }

    void awaitGauge(String name, double expected) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        double v;
        while ((v = scrape().value(name, Map.of())) != expected) {
            assertTrue(System.nanoTime() < deadline, name + " is " + v + ", expected " + expected);
            Thread.sleep(50);
        }
    }

    @Test
    void everyFailureReasonAndEvidenceCheckHasItsSeriesFromTheStart() throws Exception {
        Set<Map<String, String>> series = labelSets(scrape(), "attestmesh_attestation_failures_total");
        assertEquals(AttestationFailureReason.values().length + VerificationCheck.values().length, series.size());
        assertTrue(series.contains(Map.of("reason", "identity", "check", "none")), series.toString());
        assertTrue(series.contains(Map.of("reason", "evidence", "check", "sim_signature")), series.toString());
    }

    @Test
    void refusalsAreCountedByReasonAndHostileStringsCreateNoLabelValue() throws Exception {
        PrometheusText before = scrape();
        Set<Map<String, String>> seriesBefore = labelSets(before, "attestmesh_attestation_failures_total");
        Set<String> namesBefore = before.names();

        // An unapproved measurement: verified evidence that earns no identity.
        assertThrows(Exception.class, () -> agent("stranger", "b2".repeat(48)).attestOnce());
        // A hostile TEE name and node id (request), and a made-up nonce (nonce stage).
        for (int i = 0; i < 3; i++) {
            assertThrows(StatusRuntimeException.class, () -> stub.withDeadlineAfter(5, TimeUnit.SECONDS).attest(
                    AttestRequest.newBuilder().setNodeId(HOSTILE).setTee(HOSTILE)
                            .setEvidence(ByteString.copyFromUtf8(HOSTILE)).setCsr(ByteString.copyFromUtf8(HOSTILE))
                            .setNonce(ByteString.copyFromUtf8(HOSTILE)).build()));
        }
        NodeKeyPair key = NodeKeyPair.generate();
        byte[] madeUp = new byte[32];
        byte[] ev = SimulatedTee.withMeasurementHex(GOOD).collect(ReportDataBinding.expected(madeUp,
                key.subjectPublicKeyInfoDer()));
        assertThrows(StatusRuntimeException.class, () -> stub.withDeadlineAfter(5, TimeUnit.SECONDS).attest(
                AttestRequest.newBuilder().setNodeId("made-up").setTee("sim").setEvidence(ByteString.copyFrom(ev))
                        .setCsr(ByteString.copyFrom(key.csrDer("made-up"))).setNonce(ByteString.copyFrom(madeUp))
                        .build()));
        // Evidence that does not parse, after a real nonce: refused by the evidence stage, check "parse".
        byte[] nonce = stub.withDeadlineAfter(5, TimeUnit.SECONDS).challenge(ChallengeRequest.newBuilder()
                .setNodeId("garbled").build()).getNonce().toByteArray();
        assertThrows(StatusRuntimeException.class, () -> stub.withDeadlineAfter(5, TimeUnit.SECONDS).attest(
                AttestRequest.newBuilder().setNodeId("garbled").setTee("sim")
                        .setEvidence(ByteString.copyFromUtf8(HOSTILE)).setCsr(ByteString.copyFrom(key.csrDer("garbled")))
                        .setNonce(ByteString.copyFrom(nonce)).build()));

        String text = scrapeText();
        PrometheusText after = PrometheusText.parse(text);
        assertEquals(seriesBefore, labelSets(after, "attestmesh_attestation_failures_total"),
                "no failure created a new label set");
        assertFalse(text.contains("evil") || text.contains("pwned") || text.contains("<script>"),
                "no caller text reaches the exposition");
        Set<String> newNames = new TreeSet<>(after.names());
        newNames.removeAll(namesBefore);
        assertTrue(newNames.stream().allMatch(n -> n.startsWith("attestmesh_attestations_total")
                        || n.startsWith("attestmesh_attestation_duration_seconds") || n.startsWith("jvm_")),
                "only known families appear later: " + newNames);
        for (var s : after.samples()) {
            if (s.name().startsWith("attestmesh_")) { // the JVM binders' labels name memory pools and GC causes
                s.labels().values().forEach(v -> assertTrue(v.matches("[A-Za-z0-9_.:/+\\-]*"),
                        "unexpected label value " + v + " in " + s));
            }
        }
        double delta = failures(after, "identity", "none") - failures(before, "identity", "none");
        assertEquals(1.0, delta, "the unapproved measurement is one identity refusal");
        assertEquals(3.0, failures(after, "request", "none") - failures(before, "request", "none"));
        assertEquals(1.0, failures(after, "nonce", "none") - failures(before, "nonce", "none"));
        assertEquals(1.0, failures(after, "evidence", "parse") - failures(before, "evidence", "parse"));
    }

    static double failures(PrometheusText t, String reason, String check) {
        return t.value("attestmesh_attestation_failures_total", Map.of("reason", reason, "check", check));
    }
}
