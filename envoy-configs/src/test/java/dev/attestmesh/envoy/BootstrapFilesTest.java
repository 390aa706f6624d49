package dev.attestmesh.envoy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Duration;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.ext_authz.v3.ExtAuthz;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** The shipped bootstrap files parse into {@code Bootstrap}, validate, and say what DESIGN section 6 requires. */
class BootstrapFilesTest {

    static final Path BOOTSTRAP_DIR = Path.of(System.getProperty("basedir", ".")).resolve("bootstrap");
    /** The trust domain the shipped files are written for: the control plane's default {@code attestmesh.trust-domain}. */
    static final String TRUST_DOMAIN = "attestmesh.local";
    static final List<String> BOOTSTRAP_FILES = List.of("sidecar-mutual.yaml", "ingress.yaml", "egress.yaml", "gateway.yaml");

    private final EnvoyConfigValidator validator = EnvoyConfigValidator.standard();

    static Stream<String> bootstrapFiles() {
        return BOOTSTRAP_FILES.stream();
    }

    private Bootstrap load(String name) throws IOException, EnvoyConfigException {
        return validator.parseYamlAndValidate(Files.readString(BOOTSTRAP_DIR.resolve(name)),
                Bootstrap.getDefaultInstance(), name);
    }

    @Test
    void theDirectoryHoldsExactlyTheDocumentedFiles() throws IOException {
        try (Stream<Path> files = Files.list(BOOTSTRAP_DIR)) {
            Set<String> names = new TreeSet<>(files.map(p -> p.getFileName().toString()).toList());
            Set<String> expected = new TreeSet<>(BOOTSTRAP_FILES);
            expected.add("control-plane-sds.yaml");
            assertEquals(expected, names);
        }
    }

    @ParameterizedTest
    @MethodSource("bootstrapFiles")
    void parsesAndValidatesWithZeroViolations(String name) throws Exception {
        Bootstrap bootstrap = load(name);
        assertEquals(List.of(), validator.validate(bootstrap));
        assertFalse(bootstrap.getNode().getId().isEmpty(), "node id");
        assertFalse(bootstrap.getNode().getCluster().isEmpty(), "node cluster");
    }

    @ParameterizedTest
    @MethodSource("bootstrapFiles")
    void reachesTheControlPlaneOverAdsWithTheNodeAgentsCertificate(String name) throws Exception {
        Bootstrap bootstrap = load(name);
        var ads = bootstrap.getDynamicResources().getAdsConfig();
        assertEquals("attestmesh-control-plane", ads.getGrpcServices(0).getEnvoyGrpc().getClusterName());
        assertFalse(ads.getSetNodeOnFirstMessageOnly());
        Cluster controlPlane = bootstrap.getStaticResources().getClustersList().stream()
                .filter(c -> c.getName().equals("attestmesh-control-plane")).findFirst().orElseThrow();
        var endpoint = controlPlane.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress().getSocketAddress();
        assertEquals("127.0.0.1", endpoint.getAddress());
        assertEquals(15010, endpoint.getPortValue());
        var tls = controlPlane.getTransportSocket().getTypedConfig()
                .unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.class).getCommonTlsContext();
        assertEquals("/var/run/attestmesh/control-plane-sds.yaml",
                tls.getTlsCertificateSdsSecretConfigs(0).getSdsConfig().getPathConfigSource().getPath());
        assertEquals("/var/run/attestmesh/control-plane-sds.yaml", tls.getCombinedValidationContext()
                .getValidationContextSdsSecretConfig().getSdsConfig().getPathConfigSource().getPath());
    }

    @ParameterizedTest
    @MethodSource("bootstrapFiles")
    void pinsTheControlPlaneIdentityOnEveryClusterThatDialsIt(String name) throws Exception {
        ControlPlanePin.assertEveryControlPlaneClusterPins(load(name), TRUST_DOMAIN, name);
    }

    /** Not only the listed files: a bootstrap added to the directory later must pin the control plane too. */
    @Test
    void everyBootstrapInTheDirectoryValidatesAndPinsTheControlPlane() throws Exception {
        List<Path> bootstraps;
        try (Stream<Path> files = Files.list(BOOTSTRAP_DIR)) {
            bootstraps = files.filter(p -> p.getFileName().toString().endsWith(".yaml"))
                    .filter(p -> !p.getFileName().toString().equals(BootstrapRenderer.CONTROL_PLANE_SDS_FILE)).sorted().toList();
        }
        assertTrue(bootstraps.size() >= BOOTSTRAP_FILES.size(), bootstraps.toString());
        for (Path file : bootstraps) {
            String name = file.getFileName().toString();
            Bootstrap bootstrap = validator.parseYamlAndValidate(Files.readString(file), Bootstrap.getDefaultInstance(), name);
            assertEquals(List.of(), validator.validate(bootstrap), name);
            ControlPlanePin.assertEveryControlPlaneClusterPins(bootstrap, TRUST_DOMAIN, name);
        }
    }

    @Test
    void aControlPlaneClusterWithoutThePinIsCaught() throws Exception {
        Bootstrap ingress = load("ingress.yaml");
        Bootstrap.Builder unpinned = ingress.toBuilder();
        for (var cluster : unpinned.getStaticResourcesBuilder().getClustersBuilderList()) {
            if (!cluster.getName().equals(BootstrapRenderer.CONTROL_PLANE_CLUSTER)) {
                continue;
            }
            var tls = cluster.getTransportSocket().getTypedConfig()
                    .unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.class).toBuilder();
            tls.getCommonTlsContextBuilder().getCombinedValidationContextBuilder().getDefaultValidationContextBuilder()
                    .clearMatchTypedSubjectAltNames();
            cluster.getTransportSocketBuilder().setTypedConfig(Any.pack(tls.build()));
        }
        assertEquals(List.of(), validator.validate(unpinned.build())); // still schema-valid: only the pin test catches it
        org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class,
                () -> ControlPlanePin.assertEveryControlPlaneClusterPins(unpinned.build(), TRUST_DOMAIN, "unpinned"));
        org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class,
                () -> ControlPlanePin.assertEveryControlPlaneClusterPins(ingress, "other.example", "other trust domain"));
    }

    @ParameterizedTest
    @MethodSource("bootstrapFiles")
    void usesNoDeprecatedField(String name) throws Exception {
        assertEquals(List.of(), deprecatedFieldsSet(load(name)), name);
    }

    @Test
    void controlPlaneSdsFileReadsTheNodeAgentsFilesAndWatchesTheirDirectory() throws Exception {
        String name = "control-plane-sds.yaml";
        DiscoveryResponse response = validator.parseYamlAndValidate(Files.readString(BOOTSTRAP_DIR.resolve(name)),
                DiscoveryResponse.getDefaultInstance(), name);
        var certificate = response.getResources(0).unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret.class);
        var bundle = response.getResources(1).unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret.class);
        assertEquals(BootstrapRenderer.NODE_CERTIFICATE_SECRET, certificate.getName());
        assertEquals("/var/run/attestmesh/cert-chain.pem", certificate.getTlsCertificate().getCertificateChain().getFilename());
        assertEquals("/var/run/attestmesh/key.pem", certificate.getTlsCertificate().getPrivateKey().getFilename());
        assertEquals("/var/run/attestmesh", certificate.getTlsCertificate().getWatchedDirectory().getPath());
        assertEquals(BootstrapRenderer.TRUST_BUNDLE_SECRET, bundle.getName());
        assertEquals("/var/run/attestmesh/ca-bundle.pem", bundle.getValidationContext().getTrustedCa().getFilename());
        // the renderer writes the same file for the same directory
        assertEquals(response, new BootstrapRenderer().renderControlPlaneSecrets(Path.of("/var/run/attestmesh")));
    }

    @Test
    void sidecarTakesListenersAndClustersFromAds() throws Exception {
        Bootstrap bootstrap = load("sidecar-mutual.yaml");
        assertTrue(bootstrap.getDynamicResources().getLdsConfig().hasAds());
        assertTrue(bootstrap.getDynamicResources().getCdsConfig().hasAds());
        assertEquals(0, bootstrap.getStaticResources().getListenersCount());
    }

    @Test
    void ingressRequiresAClientCertificateThenExtAuthzWithThePeerCertificate() throws Exception {
        Bootstrap bootstrap = load("ingress.yaml");
        Listener listener = bootstrap.getStaticResources().getListeners(0);
        assertEquals(15006, listener.getAddress().getSocketAddress().getPortValue());
        var chain = listener.getFilterChains(0);
        var tls = chain.getTransportSocket().getTypedConfig()
                .unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext.class);
        assertTrue(tls.getRequireClientCertificate().getValue());
        assertEquals("default", tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName());
        assertEquals("ROOTCA", tls.getCommonTlsContext().getValidationContextSdsSecretConfig().getName());
        assertEquals("envoy.filters.network.ext_authz", chain.getFilters(0).getName());
        ExtAuthz extAuthz = chain.getFilters(0).getTypedConfig().unpack(ExtAuthz.class);
        assertTrue(extAuthz.getIncludePeerCertificate());
        assertFalse(extAuthz.getFailureModeAllow());
        assertEquals("attestmesh-control-plane", extAuthz.getGrpcService().getEnvoyGrpc().getClusterName());
        assertEquals("x-attestmesh-policy-ids", extAuthz.getGrpcService().getInitialMetadata(0).getKey());
        assertEquals("default", extAuthz.getGrpcService().getInitialMetadata(0).getValue());
        assertEquals("envoy.filters.network.tcp_proxy", chain.getFilters(1).getName());
    }

    @ParameterizedTest
    @MethodSource("bootstrapFiles")
    void neverFailsOpenAndNamesOnlyTheDesignsSecrets(String name) throws Exception {
        Bootstrap bootstrap = load(name);
        for (Message extAuthz : collect(bootstrap, Set.of("envoy.extensions.filters.network.ext_authz.v3.ExtAuthz",
                "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz"))) {
            assertEquals(false, extAuthz.getField(extAuthz.getDescriptorForType().findFieldByName("failure_mode_allow")), name);
        }
        for (Message secret : collect(bootstrap, Set.of("envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig"))) {
            String secretName = (String) secret.getField(secret.getDescriptorForType().findFieldByName("name"));
            Message source = (Message) secret.getField(secret.getDescriptorForType().findFieldByName("sds_config"));
            boolean overAds = source.hasField(source.getDescriptorForType().findFieldByName("ads"));
            if (overAds) {
                assertTrue(secretName.equals("default") || secretName.equals("ROOTCA") || secretName.startsWith("policy:"),
                        name + " names SDS secret " + secretName);
            } else {
                assertTrue(Set.of(BootstrapRenderer.NODE_CERTIFICATE_SECRET, BootstrapRenderer.TRUST_BUNDLE_SECRET).contains(secretName),
                        name + " names file SDS secret " + secretName);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("bootstrapFiles")
    void upstreamsToServicesRequireDefaultAndThePolicySecret(String name) throws Exception {
        Bootstrap bootstrap = load(name);
        for (Cluster cluster : bootstrap.getStaticResources().getClustersList()) {
            if (cluster.getName().equals("attestmesh-control-plane") || !cluster.hasTransportSocket()) {
                continue;
            }
            var common = cluster.getTransportSocket().getTypedConfig()
                    .unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.class).getCommonTlsContext();
            assertEquals("default", common.getTlsCertificateSdsSecretConfigs(0).getName());
            assertEquals("policy:default", common.getCombinedValidationContext().getValidationContextSdsSecretConfig().getName());
            var san = common.getCombinedValidationContext().getDefaultValidationContext().getMatchTypedSubjectAltNames(0);
            assertEquals(BootstrapRenderer.POLICY_SAN_OID, san.getOid());
            assertEquals("default", san.getMatcher().getExact());
        }
    }

    @Test
    void egressAndGatewayReachAnAttestedUpstream() throws Exception {
        for (String name : List.of("egress.yaml", "gateway.yaml")) {
            Bootstrap bootstrap = load(name);
            long attested = bootstrap.getStaticResources().getClustersList().stream()
                    .filter(c -> !c.getName().equals("attestmesh-control-plane") && c.hasTransportSocket()).count();
            assertEquals(1, attested, name);
        }
        Listener egress = load("egress.yaml").getStaticResources().getListeners(0);
        assertEquals("127.0.0.1", egress.getAddress().getSocketAddress().getAddress());
        assertEquals(15001, egress.getAddress().getSocketAddress().getPortValue());
        List<Message> httpAuthz = collect(load("gateway.yaml"), Set.of("envoy.extensions.filters.http.ext_authz.v3.ExtAuthz"));
        assertEquals(1, httpAuthz.size());
    }

    @Test
    void brokenCopiesReportViolations() throws Exception {
        Bootstrap ingress = load("ingress.yaml");
        // 1. ext_authz without a stat prefix, inside the listener's typed config
        Bootstrap.Builder noStatPrefix = ingress.toBuilder();
        var filter = noStatPrefix.getStaticResourcesBuilder().getListenersBuilder(0).getFilterChainsBuilder(0).getFiltersBuilder(0);
        filter.setTypedConfig(Any.pack(filter.getTypedConfig().unpack(ExtAuthz.class).toBuilder().setStatPrefix("").build()));
        assertEquals(List.of("static_resources.listeners[0].filter_chains[0].filters[0].typed_config.stat_prefix: length 0 < min_len 1"),
                validator.validate(noStatPrefix.build()).stream().map(Violation::toString).toList());
        // 2. a cluster with a zero connect timeout and a port beyond 65535
        Bootstrap.Builder badCluster = ingress.toBuilder();
        var app = badCluster.getStaticResourcesBuilder().getClustersBuilder(0);
        app.setConnectTimeout(Duration.getDefaultInstance());
        app.getLoadAssignmentBuilder().getEndpointsBuilder(0).getLbEndpointsBuilder(0).getEndpointBuilder()
                .getAddressBuilder().getSocketAddressBuilder().setPortValue(70000);
        List<String> violations = validator.validate(badCluster.build()).stream().map(Violation::toString).toList();
        assertEquals(List.of(
                "static_resources.clusters[0].connect_timeout: duration 0s <= gt 0s",
                "static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address"
                        + ".port_value: value 70000 > lte 65535"), violations);
        // 3. an upstream TLS context whose combined validation context lost its SDS secret
        Bootstrap egress = load("egress.yaml");
        Bootstrap.Builder noPolicy = egress.toBuilder();
        var cluster = noPolicy.getStaticResourcesBuilder().getClustersBuilder(0);
        var tls = cluster.getTransportSocket().getTypedConfig()
                .unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.class).toBuilder();
        tls.getCommonTlsContextBuilder().getCombinedValidationContextBuilder().clearValidationContextSdsSecretConfig();
        cluster.getTransportSocketBuilder().setTypedConfig(Any.pack(tls.build()));
        assertEquals(List.of("static_resources.clusters[0].transport_socket.typed_config.common_tls_context"
                        + ".combined_validation_context.validation_context_sds_secret_config: value is required"),
                validator.validate(noPolicy.build()).stream().map(Violation::toString).toList());
    }

    /** Full names of the deprecated fields set anywhere in {@code root}, looking inside typed configs. */
    static List<String> deprecatedFieldsSet(Message root) throws InvalidProtocolBufferException {
        List<String> deprecated = new ArrayList<>();
        for (Message message : collect(root, null)) {
            for (FieldDescriptor field : message.getAllFields().keySet()) {
                if (field.getOptions().getDeprecated()) {
                    deprecated.add(field.getFullName());
                }
            }
        }
        return deprecated;
    }

    /**
     * Every message of the given types in {@code root} (every message when {@code typeNames} is null),
     * looking inside {@code Any} typed configs.
     */
    static List<Message> collect(Message root, Set<String> typeNames) throws InvalidProtocolBufferException {
        List<Message> found = new ArrayList<>();
        collectInto(root, typeNames, found);
        return found;
    }

    private static void collectInto(Message message, Set<String> typeNames, List<Message> found)
            throws InvalidProtocolBufferException {
        String type = message.getDescriptorForType().getFullName();
        if (type.equals("google.protobuf.Any")) {
            Any any = message instanceof Any a ? a : Any.parseFrom(message.toByteString());
            var descriptor = EnvoyTypeCatalog.standard().typeRegistry().getDescriptorForTypeUrl(any.getTypeUrl());
            collectInto(DynamicMessage.parseFrom(descriptor, any.getValue()), typeNames, found);
            return;
        }
        if (typeNames == null || typeNames.contains(type)) {
            found.add(message);
        }
        for (var entry : message.getAllFields().entrySet()) {
            FieldDescriptor field = entry.getKey();
            if (field.getJavaType() != FieldDescriptor.JavaType.MESSAGE) {
                continue;
            }
            if (field.isRepeated()) {
                for (Object item : (List<?>) entry.getValue()) {
                    collectInto((Message) item, typeNames, found);
                }
            } else {
                collectInto((Message) entry.getValue(), typeNames, found);
            }
        }
    }
}
