package dev.attestmesh.envoy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.extensions.filters.network.ext_authz.v3.ExtAuthz;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BootstrapRendererTest {

    private static final String TRUST_DOMAIN = BootstrapFilesTest.TRUST_DOMAIN;
    private static final Path CERT_DIR = Path.of("/var/run/attestmesh");

    private final BootstrapRenderer renderer = new BootstrapRenderer();
    private final EnvoyConfigValidator validator = EnvoyConfigValidator.standard();

    private static BootstrapParameters parameters(List<BootstrapParameters.Ingress> ingress,
                                                  List<BootstrapParameters.Egress> egress) {
        return new BootstrapParameters("orders-0", "orders", TRUST_DOMAIN, "10.0.0.5", 15010, CERT_DIR, ingress, egress, 15000);
    }

    @Test
    void renderedSidecarWithIngressAndEgressValidatesAndReparsesFromItsYaml() throws Exception {
        BootstrapParameters p = parameters(
                List.of(new BootstrapParameters.Ingress(15006, 8080, List.of("default", "production"))),
                List.of(new BootstrapParameters.Egress(15001, "payments.mesh.internal", 15006, "payments.mesh.internal", List.of("production")),
                        new BootstrapParameters.Egress(15002, "10.0.0.9", 15006, "ledger", List.of())));
        BootstrapRenderer.RenderedBootstrap rendered = renderer.render(p);
        assertEquals(List.of(), validator.validate(rendered.bootstrap()));
        assertEquals(rendered.bootstrap(),
                validator.parseYamlAndValidate(rendered.bootstrapYaml(), Bootstrap.getDefaultInstance(), "rendered"));
        assertEquals(rendered.controlPlaneSecrets(), validator.parseYamlAndValidate(rendered.controlPlaneSecretsYaml(),
                DiscoveryResponse.getDefaultInstance(), "rendered secrets"));
        assertEquals(CERT_DIR.resolve("control-plane-sds.yaml"), rendered.controlPlaneSecretsPath());
        assertTrue(rendered.bootstrapYaml().contains("failure_mode_allow: false"), "printed although it is the default");
        assertEquals(List.of(), BootstrapFilesTest.deprecatedFieldsSet(rendered.bootstrap()));

        Bootstrap bootstrap = rendered.bootstrap();
        assertEquals("orders-0", bootstrap.getNode().getId());
        assertEquals("orders", bootstrap.getNode().getCluster());
        assertEquals(15000, bootstrap.getAdmin().getAddress().getSocketAddress().getPortValue());
        assertEquals("127.0.0.1", bootstrap.getAdmin().getAddress().getSocketAddress().getAddress());
        assertFalse(bootstrap.getDynamicResources().hasLdsConfig(), "static listeners, so no LDS");
        assertEquals(List.of("ingress-15006", "egress-15001", "egress-15002"),
                bootstrap.getStaticResources().getListenersList().stream().map(l -> l.getName()).toList());

        ExtAuthz extAuthz = bootstrap.getStaticResources().getListeners(0).getFilterChains(0).getFilters(0)
                .getTypedConfig().unpack(ExtAuthz.class);
        assertTrue(extAuthz.getIncludePeerCertificate());
        assertFalse(extAuthz.getFailureModeAllow());
        assertEquals("default,production", extAuthz.getGrpcService().getInitialMetadata(0).getValue());

        UpstreamTlsContext payments = cluster(bootstrap, "egress-15001").getTransportSocket().getTypedConfig()
                .unpack(UpstreamTlsContext.class);
        assertEquals("payments.mesh.internal", payments.getSni());
        assertEquals("policy:production", payments.getCommonTlsContext().getCombinedValidationContext()
                .getValidationContextSdsSecretConfig().getName());
        assertEquals("production", payments.getCommonTlsContext().getCombinedValidationContext()
                .getDefaultValidationContext().getMatchTypedSubjectAltNames(0).getMatcher().getExact());
        assertEquals(Cluster.DiscoveryType.STRICT_DNS, cluster(bootstrap, "egress-15001").getType());

        UpstreamTlsContext ledger = cluster(bootstrap, "egress-15002").getTransportSocket().getTypedConfig()
                .unpack(UpstreamTlsContext.class);
        assertEquals("ROOTCA", ledger.getCommonTlsContext().getValidationContextSdsSecretConfig().getName());
        assertEquals(Cluster.DiscoveryType.STATIC, cluster(bootstrap, "egress-15002").getType());

        Cluster controlPlane = cluster(bootstrap, BootstrapRenderer.CONTROL_PLANE_CLUSTER);
        assertEquals("10.0.0.5", controlPlane.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint()
                .getAddress().getSocketAddress().getAddress());
    }

    @Test
    void renderedBootstrapsPinTheControlPlaneOfTheirTrustDomain() throws Exception {
        for (String td : List.of(TRUST_DOMAIN, "mesh.example")) {
            BootstrapParameters p = new BootstrapParameters("orders-0", "orders", td, "10.0.0.5", 15010, CERT_DIR,
                    List.of(new BootstrapParameters.Ingress(15006, 8080, List.of("default"))),
                    List.of(new BootstrapParameters.Egress(15001, "payments.mesh.internal", 15006, "payments.mesh.internal",
                            List.of("production"))), 15000);
            BootstrapRenderer.RenderedBootstrap rendered = renderer.render(p);
            assertEquals(List.of(), validator.validate(rendered.bootstrap()));
            Bootstrap reparsed = validator.parseYamlAndValidate(rendered.bootstrapYaml(), Bootstrap.getDefaultInstance(), td);
            ControlPlanePin.assertEveryControlPlaneClusterPins(reparsed, td, "rendered for " + td);
        }
        assertThrows(IllegalArgumentException.class, () -> new BootstrapParameters("n", "c", "Mesh.Example", "h", 15010,
                CERT_DIR, List.of(), List.of(), 15000));
    }

    @Test
    void renderedSidecarWithoutListenersMatchesTheShippedMutualSidecarFile() throws Exception {
        BootstrapParameters p = new BootstrapParameters("sidecar-example-0", "example-service", TRUST_DOMAIN, "127.0.0.1", 15010,
                CERT_DIR, List.of(), List.of(), 15000);
        Bootstrap rendered = renderer.render(p).bootstrap();
        Bootstrap shipped = validator.parseYamlAndValidate(
                Files.readString(BootstrapFilesTest.BOOTSTRAP_DIR.resolve("sidecar-mutual.yaml")),
                Bootstrap.getDefaultInstance(), "sidecar-mutual.yaml");
        assertEquals(shipped, rendered);
    }

    @Test
    void renderedIngressMatchesTheShippedIngressFileApartFromNodeAndOrder() throws Exception {
        BootstrapParameters p = new BootstrapParameters("ingress-example-0", "example-service", TRUST_DOMAIN, "127.0.0.1", 15010,
                CERT_DIR, List.of(new BootstrapParameters.Ingress(15006, 8080, List.of("default"))), List.of(), 15000);
        Bootstrap rendered = renderer.render(p).bootstrap();
        Bootstrap shipped = validator.parseYamlAndValidate(
                Files.readString(BootstrapFilesTest.BOOTSTRAP_DIR.resolve("ingress.yaml")),
                Bootstrap.getDefaultInstance(), "ingress.yaml");
        assertEquals(shipped.getStaticResources().getListenersList(), rendered.getStaticResources().getListenersList());
        assertEquals(Set.copyOf(shipped.getStaticResources().getClustersList()), Set.copyOf(rendered.getStaticResources().getClustersList()));
        assertEquals(shipped.getDynamicResources(), rendered.getDynamicResources());
    }

    @Test
    void controlPlaneByDnsNameUsesDnsDiscovery() {
        BootstrapParameters p = new BootstrapParameters("n", "c", TRUST_DOMAIN, "attestmesh.attestmesh-system.svc", 15010,
                CERT_DIR, List.of(), List.of(), 15000);
        Cluster controlPlane = cluster(renderer.render(p).bootstrap(), BootstrapRenderer.CONTROL_PLANE_CLUSTER);
        assertEquals(Cluster.DiscoveryType.STRICT_DNS, controlPlane.getType());
    }

    @Test
    void rejectsParametersEnvoyCouldNotUse() {
        assertThrows(IllegalArgumentException.class, () -> parameters(
                List.of(new BootstrapParameters.Ingress(15000, 8080, List.of("default"))), List.of()));
        assertThrows(IllegalArgumentException.class, () -> new BootstrapParameters.Ingress(15006, 8080, List.of()));
        assertThrows(IllegalArgumentException.class, () -> new BootstrapParameters.Ingress(15006, 8080, List.of("a,b")));
        assertThrows(IllegalArgumentException.class, () -> new BootstrapParameters.Egress(15001, "h", 15006, "h", List.of("a", "b")));
        assertThrows(IllegalArgumentException.class, () -> new BootstrapParameters.Egress(0, "h", 15006, "h", List.of()));
        assertThrows(IllegalArgumentException.class, () -> new BootstrapParameters("n", "c", TRUST_DOMAIN, "h", 15010,
                Path.of("relative"), List.of(), List.of(), 15000));
    }

    private static Cluster cluster(Message bootstrap, String name) {
        return ((Bootstrap) bootstrap).getStaticResources().getClustersList().stream()
                .filter(c -> c.getName().equals(name)).findFirst().orElseThrow();
    }
}
