package dev.attestmesh.server.app;

import dev.attestmesh.ca.Pem;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.kubernetes.TrustBundleConfigMap;
import dev.attestmesh.server.kubernetes.TrustBundlePublisher;
import dev.attestmesh.server.kubernetes.TrustBundleSettings;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.annotation.Value;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

/**
 * Starts {@link TrustBundlePublisher} when {@code attestmesh.kubernetes.trust-bundle.publish=true} (default
 * false). The API server and credentials come from the pod's service account (fabric8's in-cluster
 * configuration), or {@code KUBECONFIG} outside a cluster. Every intermediate rotation (which renews the serving
 * certificate) republishes at once; the periodic resync catches anything else.
 */
@Factory
@Requires(property = "attestmesh.kubernetes.trust-bundle.publish", value = "true")
public class TrustBundlePublishing {

    @Context
    @Bean(preDestroy = "close")
    KubernetesClient trustBundleKubernetesClient() {
        return new KubernetesClientBuilder().build();
    }

    @Context
    @Bean(preDestroy = "close")
    TrustBundlePublisher trustBundlePublisher(ControlPlane controlPlane, KubernetesClient trustBundleKubernetesClient,
            @Value("${attestmesh.kubernetes.trust-bundle.namespace-selector:" + TrustBundleSettings.DEFAULT_SELECTOR
                    + "}") String selector,
            @Value("${attestmesh.kubernetes.trust-bundle.config-map:" + TrustBundleSettings.DEFAULT_CONFIG_MAP
                    + "}") String configMap,
            @Value("${attestmesh.kubernetes.trust-bundle.resync:5m}") Duration resync) {
        TrustBundleSettings settings = new TrustBundleSettings(selector, configMap, resync);
        TrustBundlePublisher publisher = new TrustBundlePublisher(trustBundleKubernetesClient, settings,
                () -> bundleOf(controlPlane.trustBundle()), Clock.systemUTC()).start();
        controlPlane.servingCertificate().onChange((key, chain) -> publisher.bundleChanged());
        return publisher;
    }

    static TrustBundleConfigMap bundleOf(List<X509Certificate> bundle) {
        return TrustBundleConfigMap.of(bundle, Pem.certificates(bundle));
    }
}
