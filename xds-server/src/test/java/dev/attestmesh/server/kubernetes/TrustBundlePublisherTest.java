package dev.attestmesh.server.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.ca.Pem;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import java.util.HashMap;
import java.util.Queue;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The trust bundle publisher against fabric8's mock API server in CRUD mode (a real HTTP API server
 * emulation with watches): selected namespaces get the ConfigMap, others do not, rotation and later labels
 * are followed, foreign edits are undone, API errors are retried, and concurrent replicas do not fight.
 */
class TrustBundlePublisherTest {
    static final String LABEL = "attestmesh.dev/trust-bundle";
    static final TrustBundleSettings SETTINGS = new TrustBundleSettings(TrustBundleSettings.DEFAULT_SELECTOR,
            TrustBundleSettings.DEFAULT_CONFIG_MAP, Duration.ofSeconds(10));

    KubernetesMockServer server;
    KubernetesClient client;

    @BeforeEach
    void start() {
        // CRUD mode (as @EnableKubernetesMockClient(crud = true) sets it up): expectations first, then a store.
        Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
        server = new KubernetesMockServer(new Context(), new MockWebServer(), responses,
                new KubernetesMixedDispatcher(responses), false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        client = server.createClient();
    }

    @AfterEach
    void stop() {
        client.close();
        try {
            server.destroy();
        } catch (IllegalStateException e) {
            // fabric8's mock server waits 10 s for its sockets to close and then throws, even when every client
            // and publisher of the test was closed (seen once in CI, 2026-12-07: the HTTP client's last keep-alive
            // socket closes asynchronously). What the test asserts happened before; the server's port is released.
            if (!String.valueOf(e.getMessage()).contains("Unable to close MockWebServer")) {
                throw e;
            }
            System.err.println("TrustBundlePublisherTest: mock API server slow to close its sockets: " + e.getCause());
        }
    }

    static TrustBundleConfigMap bundle(Instant at) {
        MeshCa ca = MeshCa.generate("attestmesh.local", Clock.fixed(at, ZoneOffset.UTC));
        return TrustBundleConfigMap.of(ca.trustBundle(), Pem.certificates(ca.trustBundle()));
    }

    void namespace(String name, boolean labelled) {
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name)
                .withLabels(labelled ? Map.of(LABEL, "enabled") : Map.of("team", name)).endMetadata().build()).create();
    }

    String published(String ns) {
        ConfigMap cm = client.configMaps().inNamespace(ns).withName(SETTINGS.configMap()).get();
        return cm == null ? null : cm.getData().get(TrustBundleSettings.KEY);
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (System.nanoTime() < end) {
            if (condition.getAsBoolean()) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("timed out waiting until " + what);
    }

    @Test
    void publishesIntoLabelledNamespacesFollowsRotationNewNamespacesAndUndoesForeignEdits() throws Exception {
        TrustBundleConfigMap first = bundle(Instant.now().minus(Duration.ofDays(2)));
        AtomicReference<TrustBundleConfigMap> current = new AtomicReference<>(first);
        namespace("team-a", true);
        namespace("team-b", false);
        try (TrustBundlePublisher p = new TrustBundlePublisher(client, SETTINGS, current::get, Clock.systemUTC(),
                Duration.ofMillis(50)).start()) {
            await(() -> first.pem().equals(published("team-a")), "team-a has the bundle");
            ConfigMap cm = client.configMaps().inNamespace("team-a").withName(SETTINGS.configMap()).get();
            assertEquals("attestmesh", cm.getMetadata().getLabels().get(TrustBundleConfigMap.MANAGED_BY));
            assertTrue(first.pem().startsWith("-----BEGIN CERTIFICATE-----"));
            Thread.sleep(300);
            assertNull(published("team-b"), "an unlabelled namespace gets nothing");

            // intermediate rotation: a newer bundle
            TrustBundleConfigMap second = bundle(Instant.now().minus(Duration.ofDays(1)));
            current.set(second);
            p.bundleChanged();
            await(() -> second.pem().equals(published("team-a")), "the rotated bundle reaches team-a");

            // a namespace labelled later
            client.namespaces().withName("team-b").edit(n -> new NamespaceBuilder(n).editMetadata()
                    .addToLabels(LABEL, "enabled").endMetadata().build());
            await(() -> second.pem().equals(published("team-b")), "team-b, labelled later, gets the bundle");

            // someone else edits the data, then deletes the ConfigMap
            client.configMaps().inNamespace("team-a").withName(SETTINGS.configMap()).edit(c -> new ConfigMapBuilder(c)
                    .withData(Map.of(TrustBundleSettings.KEY, "-----BEGIN CERTIFICATE-----\nforged\n"))
                    .build());
            await(() -> second.pem().equals(published("team-a")), "the edited ConfigMap is restored");
            client.configMaps().inNamespace("team-b").withName(SETTINGS.configMap()).delete();
            await(() -> second.pem().equals(published("team-b")), "the deleted ConfigMap is recreated");
        }
    }

    @Test
    void apiErrorsAreRetriedWithBackoffAndAreNotFatal() throws Exception {
        TrustBundleConfigMap b = bundle(Instant.now().minus(Duration.ofDays(1)));
        // The first three creations in team-c are refused (403: RBAC not bound yet; fabric8 does not retry these
        // itself, unlike 5xx), the fourth reaches the CRUD store.
        server.expect().post().withPath("/api/v1/namespaces/team-c/configmaps")
                .andReturn(403, "{\"kind\":\"Status\",\"code\":403,\"message\":\"forbidden\"}").times(3);
        namespace("team-c", true);
        ch.qos.logback.classic.Logger log = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger(TrustBundlePublisher.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logged =
                new ch.qos.logback.core.read.ListAppender<>();
        logged.start();
        log.addAppender(logged);
        try (TrustBundlePublisher p = new TrustBundlePublisher(client, SETTINGS, () -> b, Clock.systemUTC(),
                Duration.ofMillis(50)).start()) {
            await(() -> b.pem().equals(published("team-c")), "team-c gets the bundle after the failures");
            assertEquals(3, p.failures(), "three refusals, each retried");
            List<String> warnings = logged.list.stream().filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
                    .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).toList();
            assertEquals(3, warnings.size(), warnings.toString());
            assertTrue(warnings.get(0).contains("team-c/attestmesh-ca-bundle (HTTP 403"), warnings.get(0));
            assertTrue(warnings.get(0).contains("retrying in 50 ms") && warnings.get(1).contains("retrying in 100 ms")
                    && warnings.get(2).contains("retrying in 200 ms"), "exponential backoff: " + warnings);
        } finally {
            log.detachAppender(logged);
        }
    }

    @Test
    void concurrentReplicasAgreeAndAnOlderCaNeverOverwritesANewerBundle() throws Exception {
        TrustBundleConfigMap older = bundle(Instant.now().minus(Duration.ofDays(3)));
        TrustBundleConfigMap newer = bundle(Instant.now().minus(Duration.ofDays(1)));
        namespace("team-d", true);
        try (TrustBundlePublisher a = new TrustBundlePublisher(client, SETTINGS, () -> newer, Clock.systemUTC(),
                Duration.ofMillis(50)).start();
                TrustBundlePublisher b = new TrustBundlePublisher(client, SETTINGS, () -> newer, Clock.systemUTC(),
                        Duration.ofMillis(50)).start()) {
            await(() -> newer.pem().equals(published("team-d")), "team-d has the bundle");
            Thread.sleep(500);
            String version = client.configMaps().inNamespace("team-d").withName(SETTINGS.configMap()).get()
                    .getMetadata().getResourceVersion();
            try (TrustBundlePublisher stale = new TrustBundlePublisher(client, SETTINGS, () -> older, Clock.systemUTC(),
                    Duration.ofMillis(50)).start()) {
                stale.bundleChanged();
                Thread.sleep(1_000);
                assertEquals(newer.pem(), published("team-d"), "a replica with an older CA leaves the newer bundle");
                assertEquals(0, stale.writes());
            }
            assertEquals(version, client.configMaps().inNamespace("team-d").withName(SETTINGS.configMap()).get()
                    .getMetadata().getResourceVersion(), "identical replicas do not rewrite each other's ConfigMap");
            assertEquals(1, a.writes() + b.writes(), "one creation between the two replicas");
        }
    }

    @Test
    void aForgedFarFutureGenerationDoesNotFreezeTheBundle() throws Exception {
        TrustBundleConfigMap b = bundle(Instant.now().minus(Duration.ofDays(1)));
        namespace("team-e", true);
        client.configMaps().inNamespace("team-e").resource(new ConfigMapBuilder().withNewMetadata()
                .withName(SETTINGS.configMap()).withNamespace("team-e")
                .addToLabels(TrustBundleConfigMap.MANAGED_BY, TrustBundleConfigMap.MANAGED_BY_VALUE)
                .addToAnnotations(TrustBundleConfigMap.GENERATION, "99999999999").endMetadata()
                .addToData(TrustBundleSettings.KEY, "forged").build()).create();
        try (TrustBundlePublisher p = new TrustBundlePublisher(client, SETTINGS, () -> b, Clock.systemUTC(),
                Duration.ofMillis(50)).start()) {
            await(() -> b.pem().equals(published("team-e")), "the forged ConfigMap is replaced");
        }
    }

    @Test
    void settingsRefuseAnEmptySelectorAndABadName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new TrustBundleSettings(" ", "attestmesh-ca-bundle", Duration.ofMinutes(5)));
        assertTrue(e.getMessage().contains("namespace-selector"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new TrustBundleSettings("a=b", "Bad_Name", Duration.ofMinutes(5)));
        assertThrows(IllegalArgumentException.class,
                () -> new TrustBundleSettings("a=b\nc", "ok", Duration.ofMinutes(5)));
        assertThrows(IllegalArgumentException.class,
                () -> new TrustBundleSettings("a=b", "ok", Duration.ofSeconds(1)));
    }
}
