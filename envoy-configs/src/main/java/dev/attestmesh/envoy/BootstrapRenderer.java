package dev.attestmesh.envoy;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.bootstrap.v3.Admin;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.KeepaliveSettings;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.PathConfigSource;
import io.envoyproxy.envoy.config.core.v3.WatchedDirectory;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Renders a sidecar's Envoy bootstrap from {@link BootstrapParameters}, with the same structure as the
 * files in {@code envoy-configs/bootstrap/}: ADS over mTLS to the {@value #CONTROL_PLANE_CLUSTER} cluster
 * using the node agent's certificate (read through a file-based SDS file so renewals are picked up), SDS
 * secrets {@code default}, {@code ROOTCA} and {@code policy:<id>} over ADS, ingress listeners with TLS
 * requiring a client certificate then network ext_authz ({@code include_peer_certificate},
 * {@code failure_mode_allow: false}, {@code x-attestmesh-policy-ids}) then TCP proxy, and egress
 * listeners proxying over mTLS to upstreams that must prove their policy.
 *
 * <p>With no ingress and no egress the bootstrap takes listeners and clusters from the control plane
 * (LDS and CDS over ADS), as {@code sidecar-mutual.yaml}; otherwise its listeners are static, as
 * {@code ingress.yaml} and {@code egress.yaml}, and only secrets come over ADS.
 *
 * <p>Guarantee: every rendered bootstrap and secrets file passes {@link EnvoyConfigValidator} with zero
 * violations; {@link #render} checks this before returning. Thread-safe.
 */
public final class BootstrapRenderer {

    /** Name of the cluster for the AttestMesh control plane (ADS, SDS, ext_authz). */
    public static final String CONTROL_PLANE_CLUSTER = "attestmesh-control-plane";
    /** gRPC metadata key naming the policies a peer must satisfy on a listener. */
    public static final String POLICY_IDS_HEADER = SidecarShapes.POLICY_IDS_HEADER;
    /** OID of the otherName SAN that carries a satisfied policy ID (DESIGN section 5). */
    public static final String POLICY_SAN_OID = SidecarShapes.POLICY_SAN_OID;
    /** File name of the node agent's certificate chain in the cert directory. */
    public static final String CERT_CHAIN_FILE = "cert-chain.pem";
    /** File name of the node agent's private key in the cert directory. */
    public static final String KEY_FILE = "key.pem";
    /** File name of the mesh trust bundle in the cert directory. */
    public static final String CA_BUNDLE_FILE = "ca-bundle.pem";
    /** File name of the file-based SDS resources for the control-plane connection, in the cert directory. */
    public static final String CONTROL_PLANE_SDS_FILE = "control-plane-sds.yaml";
    /** Secret name (file SDS) of the node certificate used towards the control plane. */
    public static final String NODE_CERTIFICATE_SECRET = "attestmesh-node-certificate";
    /** Secret name (file SDS) of the trust bundle used to verify the control plane. */
    public static final String TRUST_BUNDLE_SECRET = "attestmesh-trust-bundle";

    private static final String TYPE_URL_PREFIX = "type.googleapis.com/";

    private final EnvoyConfigValidator validator;

    /** A renderer checking its output with {@link EnvoyConfigValidator#standard()}. */
    public BootstrapRenderer() {
        this(EnvoyConfigValidator.standard());
    }

    /** A renderer checking its output with {@code validator}. */
    public BootstrapRenderer(EnvoyConfigValidator validator) {
        this.validator = Objects.requireNonNull(validator, "validator");
    }

    /**
     * The bootstrap and the control-plane SDS file it refers to, as messages and YAML.
     *
     * @throws IllegalStateException if the rendered config would not validate (a defect in this class)
     */
    public RenderedBootstrap render(BootstrapParameters parameters) {
        Bootstrap bootstrap = renderBootstrap(parameters);
        DiscoveryResponse secrets = renderControlPlaneSecrets(parameters.certDir());
        requireValid(bootstrap, "rendered bootstrap for node " + parameters.nodeId());
        requireValid(secrets, "rendered control-plane SDS file for node " + parameters.nodeId());
        EnvoyYamlCodec codec = validator.codec();
        return new RenderedBootstrap(bootstrap, codec.toYaml(bootstrap), secrets, codec.toYaml(secrets),
                parameters.certDir().resolve(CONTROL_PLANE_SDS_FILE));
    }

    /** The bootstrap as YAML for Envoy's {@code -c}, validated; see {@link #render} for the SDS file it reads. */
    public String renderYaml(BootstrapParameters parameters) {
        return render(parameters).bootstrapYaml();
    }

    /** The bootstrap message alone (not re-validated; {@link #render} validates). */
    public Bootstrap renderBootstrap(BootstrapParameters p) {
        boolean dynamicListeners = p.ingress().isEmpty() && p.egress().isEmpty();
        Bootstrap.Builder bootstrap = Bootstrap.newBuilder()
                .setNode(Node.newBuilder().setId(p.nodeId()).setCluster(p.cluster()))
                .setAdmin(Admin.newBuilder().setAddress(SidecarShapes.socket("127.0.0.1", p.adminPort())));
        var dynamic = bootstrap.getDynamicResourcesBuilder()
                .setAdsConfig(ApiConfigSource.newBuilder()
                        .setApiType(ApiConfigSource.ApiType.GRPC)
                        .setTransportApiVersion(ApiVersion.V3)
                        // the control plane groups nodes by the node on every request
                        .setSetNodeOnFirstMessageOnly(false)
                        .addGrpcServices(controlPlaneGrpc()));
        if (dynamicListeners) {
            dynamic.setLdsConfig(SidecarShapes.ads()).setCdsConfig(SidecarShapes.ads());
        }
        var statics = bootstrap.getStaticResourcesBuilder();
        for (BootstrapParameters.Ingress in : p.ingress()) {
            String appCluster = "local-app-" + in.appPort();
            statics.addListeners(ingressListener(in, appCluster));
            if (statics.getClustersList().stream().noneMatch(c -> c.getName().equals(appCluster))) {
                statics.addClusters(cluster(appCluster, "127.0.0.1", in.appPort(), Duration.newBuilder().setSeconds(1).build()));
            }
        }
        for (BootstrapParameters.Egress out : p.egress()) {
            String upstreamCluster = "egress-" + out.listenPort();
            statics.addListeners(egressListener(out, upstreamCluster));
            statics.addClusters(attestedUpstream(out, upstreamCluster));
        }
        statics.addClusters(controlPlaneCluster(p));
        return bootstrap.build();
    }

    /** The file-based SDS resources for the control-plane connection, pointing at the node agent's files. */
    public DiscoveryResponse renderControlPlaneSecrets(Path certDir) {
        WatchedDirectory watched = WatchedDirectory.newBuilder().setPath(certDir.toString()).build();
        Secret certificate = Secret.newBuilder()
                .setName(NODE_CERTIFICATE_SECRET)
                .setTlsCertificate(TlsCertificate.newBuilder()
                        .setCertificateChain(file(certDir.resolve(CERT_CHAIN_FILE)))
                        .setPrivateKey(file(certDir.resolve(KEY_FILE)))
                        .setWatchedDirectory(watched))
                .build();
        Secret trustBundle = Secret.newBuilder()
                .setName(TRUST_BUNDLE_SECRET)
                .setValidationContext(CertificateValidationContext.newBuilder()
                        .setTrustedCa(file(certDir.resolve(CA_BUNDLE_FILE)))
                        .setWatchedDirectory(watched))
                .build();
        return DiscoveryResponse.newBuilder().addResources(Any.pack(certificate)).addResources(Any.pack(trustBundle)).build();
    }

    private void requireValid(Message message, String subject) {
        try {
            validator.requireValid(message, subject);
        } catch (EnvoyConfigException e) {
            throw new IllegalStateException("BootstrapRenderer produced an invalid config; this is a defect: "
                    + e.getMessage(), e);
        }
    }

    // ---- listeners --------------------------------------------------------------------------------------

    // Inbound and outbound shapes come from SidecarShapes, shared with the control plane's mesh generator.
    private static Listener ingressListener(BootstrapParameters.Ingress in, String appCluster) {
        return SidecarShapes.inboundTcpListener("ingress-" + in.port(), "ingress_" + in.port(), in.port(),
                CONTROL_PLANE_CLUSTER, in.policyIds(), appCluster);
    }

    private static Listener egressListener(BootstrapParameters.Egress out, String upstreamCluster) {
        return SidecarShapes.outboundListener("egress-" + out.listenPort(), "egress_" + out.listenPort(),
                out.listenPort(), upstreamCluster);
    }

    // ---- clusters -----------------------------------------------------------------------------------------

    private static Cluster attestedUpstream(BootstrapParameters.Egress out, String name) {
        return cluster(name, out.upstreamHost(), out.upstreamPort(), Duration.newBuilder().setSeconds(5).build())
                .toBuilder()
                .setTransportSocket(SidecarShapes.tlsSocket(SidecarShapes.upstreamTls(out.sni(), out.policyIds())))
                .build();
    }

    /** {@code spiffe://<trustDomain>/attestmesh/control-plane}: the only URI SAN of the control plane's certificate. */
    public static String controlPlaneSpiffeId(String trustDomain) {
        return "spiffe://" + trustDomain + "/attestmesh/control-plane";
    }

    /**
     * The validation context every cluster dialling the control plane carries: its server certificate must
     * name {@link #controlPlaneSpiffeId} (exactly, as a URI SAN).
     */
    public static CertificateValidationContext controlPlaneSanPin(String trustDomain) {
        return CertificateValidationContext.newBuilder()
                .addMatchTypedSubjectAltNames(SubjectAltNameMatcher.newBuilder()
                        .setSanType(SubjectAltNameMatcher.SanType.URI)
                        .setMatcher(StringMatcher.newBuilder().setExact(controlPlaneSpiffeId(trustDomain))))
                .build();
    }

    private static Cluster controlPlaneCluster(BootstrapParameters p) {
        String sdsFile = p.certDir().resolve(CONTROL_PLANE_SDS_FILE).toString();
        ConfigSource fileSds = ConfigSource.newBuilder()
                .setPathConfigSource(PathConfigSource.newBuilder().setPath(sdsFile))
                .setResourceApiVersion(ApiVersion.V3)
                .build();
        UpstreamTlsContext tls = UpstreamTlsContext.newBuilder()
                .setSni(CONTROL_PLANE_CLUSTER)
                .setCommonTlsContext(CommonTlsContext.newBuilder()
                        .setTlsParams(SidecarShapes.tls13())
                        .addAlpnProtocols("h2")
                        .addTlsCertificateSdsSecretConfigs(SdsSecretConfig.newBuilder()
                                .setName(NODE_CERTIFICATE_SECRET).setSdsConfig(fileSds))
                        // The bundle alone would accept any attested node's leaf (same CA, serverAuth): pin
                        // the reserved control-plane identity, which no registration can grant.
                        .setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                                .setDefaultValidationContext(controlPlaneSanPin(p.trustDomain()))
                                .setValidationContextSdsSecretConfig(SdsSecretConfig.newBuilder()
                                        .setName(TRUST_BUNDLE_SECRET).setSdsConfig(fileSds))))
                .build();
        HttpProtocolOptions http2 = HttpProtocolOptions.newBuilder()
                .setExplicitHttpConfig(HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
                        .setHttp2ProtocolOptions(Http2ProtocolOptions.newBuilder()
                                .setConnectionKeepalive(KeepaliveSettings.newBuilder()
                                        .setInterval(Duration.newBuilder().setSeconds(30))
                                        .setTimeout(Duration.newBuilder().setSeconds(5)))))
                .build();
        return cluster(CONTROL_PLANE_CLUSTER, p.controlPlaneHost(), p.controlPlanePort(),
                Duration.newBuilder().setSeconds(5).build())
                .toBuilder()
                .putTypedExtensionProtocolOptions("envoy.extensions.upstreams.http.v3.HttpProtocolOptions", Any.pack(http2))
                .setTransportSocket(SidecarShapes.tlsSocket(tls))
                .build();
    }

    private static Cluster cluster(String name, String host, int port, Duration connectTimeout) {
        boolean literal = WellKnownFormats.isIp(host);
        Cluster.Builder cluster = Cluster.newBuilder()
                .setName(name)
                .setType(literal ? Cluster.DiscoveryType.STATIC : Cluster.DiscoveryType.STRICT_DNS)
                .setConnectTimeout(connectTimeout)
                .setLoadAssignment(ClusterLoadAssignment.newBuilder()
                        .setClusterName(name)
                        .addEndpoints(LocalityLbEndpoints.newBuilder()
                                .addLbEndpoints(LbEndpoint.newBuilder()
                                        .setEndpoint(Endpoint.newBuilder().setAddress(SidecarShapes.socket(host, port))))));
        if (!literal) {
            cluster.setDnsLookupFamily(Cluster.DnsLookupFamily.V4_PREFERRED);
        }
        return cluster.build();
    }

    // ---- small pieces -------------------------------------------------------------------------------------

    private static GrpcService controlPlaneGrpc() {
        return GrpcService.newBuilder()
                .setEnvoyGrpc(GrpcService.EnvoyGrpc.newBuilder().setClusterName(CONTROL_PLANE_CLUSTER))
                .build();
    }

    private static DataSource file(Path path) {
        return DataSource.newBuilder().setFilename(path.toString()).build();
    }

    /**
     * A rendered sidecar configuration.
     *
     * @param bootstrap the bootstrap, for Envoy's {@code -c}
     * @param bootstrapYaml the same as YAML
     * @param controlPlaneSecrets the file-based SDS resources the bootstrap's control-plane cluster reads
     * @param controlPlaneSecretsYaml the same as YAML, to be written to {@code controlPlaneSecretsPath}
     * @param controlPlaneSecretsPath where the bootstrap expects that file: {@code <certDir>/control-plane-sds.yaml}
     */
    public record RenderedBootstrap(Bootstrap bootstrap, String bootstrapYaml, DiscoveryResponse controlPlaneSecrets,
                                    String controlPlaneSecretsYaml, Path controlPlaneSecretsPath) {
    }
}
