package dev.attestmesh.server.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.attestmesh.ca.Pem;
import dev.attestmesh.server.ControlPlane;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Queue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control plane with {@code attestmesh.kubernetes.trust-bundle.publish=true}: its own trust bundle (the
 * content of {@code ca-bundle.pem}) lands in the labelled namespace, and an intermediate rotation republishes it
 * at once. The API server is fabric8's mock in CRUD mode, reached the way fabric8 finds one outside a pod
 * ({@code kubernetes.master}).
 */
class TrustBundlePublishingWiringTest {
    @TempDir
    Path dir;

    @Test
    void theControlPlanePublishesItsBundleAndRepublishesOnRotation() throws Exception {
        Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), responses,
                new KubernetesMixedDispatcher(responses), false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        String[] keys = {"kubernetes.master", "kubernetes.auth.tryKubeConfig", "kubernetes.auth.tryServiceAccount",
            "kubernetes.namespace"};
        Map<String, String> saved = new HashMap<>();
        for (String k : keys) {
            saved.put(k, System.getProperty(k));
        }
        try (KubernetesClient client = server.createClient()) {
            client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("shop")
                    .addToLabels("attestmesh.dev/trust-bundle", "enabled").endMetadata().build()).create();
            System.setProperty("kubernetes.master", client.getMasterUrl().toString());
            System.setProperty("kubernetes.auth.tryKubeConfig", "false");
            System.setProperty("kubernetes.auth.tryServiceAccount", "false");
            System.setProperty("kubernetes.namespace", "attestmesh-system");
            Map<String, Object> p = new HashMap<>();
            p.put("attestmesh.data-dir", dir.resolve("cp").toString());
            p.put("attestmesh.grpc-bind", "127.0.0.1");
            p.put("attestmesh.grpc-port", 0);
            p.put("attestmesh.admin-port", 0);
            p.put("attestmesh.ca-key", "wiring-test-key");
            p.put("attestmesh.kubernetes.trust-bundle.publish", "true");
            try (ApplicationContext ctx = Micronaut.build(new String[0]).banner(false).properties(p).start()) {
                ControlPlane cp = ctx.getBean(ControlPlane.class);
                String before = Pem.certificates(cp.trustBundle());
                TrustBundlePublisherTest.await(() -> before.equals(bundle(client)), "the control plane's bundle in shop");

                cp.rotateIntermediate(Duration.ofDays(7));
                String after = Pem.certificates(cp.trustBundle());
                assertFalse(before.equals(after));
                TrustBundlePublisherTest.await(() -> after.equals(bundle(client)), "the rotated bundle in shop");
                assertEquals(3, Pem.parseCertificates(after).size(), "root, old and new intermediate during the overlap");
            }
        } finally {
            for (String k : keys) {
                if (saved.get(k) == null) {
                    System.clearProperty(k);
                } else {
                    System.setProperty(k, saved.get(k));
                }
            }
            server.destroy();
        }
    }

    static String bundle(KubernetesClient client) {
        ConfigMap cm = client.configMaps().inNamespace("shop").withName("attestmesh-ca-bundle").get();
        return cm == null ? null : cm.getData().get("ca-bundle.pem");
    }
}
