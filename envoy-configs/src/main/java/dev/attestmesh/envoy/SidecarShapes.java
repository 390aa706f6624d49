package dev.attestmesh.envoy;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.Duration;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.ext_authz.v3.ExtAuthz;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.List;

/**
 * The one source of the Envoy sidecar's inbound and outbound shapes, used by both the bootstrap renderer
 * ({@link BootstrapRenderer}, static resources) and the control plane's mesh generator (per-node LDS/CDS), so a
 * sidecar configured either way gets the same TLS, authorization and proxying.
 *
 * <p>Values, and why:
 * <ul>
 *   <li>TLS 1.3 minimum wherever both ends are AttestMesh sidecars (mutual inbound, attested upstreams): both
 *       sides are ours, so nothing needs 1.2, and 1.3 removes renegotiation and non-forward-secret suites. An
 *       inbound listener that accepts callers outside the mesh ({@code mutual = false}) keeps Envoy's default
 *       minimum (1.2) for those clients.</li>
 *   <li>Network ext_authz: fails closed ({@code failure_mode_allow = false}), sends the peer certificate,
 *       carries the port's policy IDs in {@value #POLICY_IDS_HEADER}, and waits {@link #EXT_AUTHZ_TIMEOUT}
 *       (500 ms) for the decision: Envoy's 200 ms default denies connections whenever the control plane is
 *       briefly slow (a Check may read the store), and a longer wait only delays a denial.</li>
 *   <li>Attested upstreams: present {@code default}; verify with the first required policy's SDS validation
 *       context {@code policy:<id>} AND a static SAN matcher requiring that policy's otherName SAN, so the
 *       requirement holds whatever the secret carries; {@code ROOTCA} when no policy is required.</li>
 * </ul>
 * Stateless; every method returns a new message.
 */
public final class SidecarShapes {
    /** The gRPC header naming the policy IDs ext_authz must require for a listener. */
    public static final String POLICY_IDS_HEADER = "x-attestmesh-policy-ids";
    /** OID of the per-policy otherName SAN (DESIGN.md section 5). */
    public static final String POLICY_SAN_OID = "2.25.72424510042917349308343247650593939987.2";
    /** How long Envoy waits for the control plane's ext_authz decision. */
    public static final Duration EXT_AUTHZ_TIMEOUT = Duration.newBuilder().setNanos(500_000_000).build();

    private SidecarShapes() {}

    /**
     * Downstream TLS of an inbound listener: certificate {@code default}; when {@code mutual}, a client
     * certificate is required, validated against {@code ROOTCA}, and TLS 1.3 is the minimum.
     */
    public static DownstreamTlsContext inboundTls(boolean mutual) {
        CommonTlsContext.Builder common = CommonTlsContext.newBuilder()
                .addTlsCertificateSdsSecretConfigs(adsSecret(SdsSecretNames.DEFAULT));
        DownstreamTlsContext.Builder tls = DownstreamTlsContext.newBuilder();
        if (mutual) {
            common.setTlsParams(tls13()).setValidationContextSdsSecretConfig(adsSecret(SdsSecretNames.ROOTCA));
            tls.setRequireClientCertificate(BoolValue.of(true));
        }
        return tls.setCommonTlsContext(common).build();
    }

    /** The ext_authz gRPC service: the {@code controlPlaneCluster}, with the policy header when any is required. */
    public static GrpcService authzService(String controlPlaneCluster, List<String> policyIds) {
        GrpcService.Builder g = GrpcService.newBuilder()
                .setEnvoyGrpc(GrpcService.EnvoyGrpc.newBuilder().setClusterName(controlPlaneCluster))
                .setTimeout(EXT_AUTHZ_TIMEOUT);
        if (!policyIds.isEmpty()) {
            policyIds.forEach(SdsSecretNames::requirePolicyId);
            g.addInitialMetadata(HeaderValue.newBuilder().setKey(POLICY_IDS_HEADER).setValue(String.join(",", policyIds)));
        }
        return g.build();
    }

    /** The network ext_authz filter of a mutual inbound listener. */
    public static Filter networkExtAuthz(String statPrefix, String controlPlaneCluster, List<String> policyIds) {
        return filter("envoy.filters.network.ext_authz", ExtAuthz.newBuilder()
                .setStatPrefix(statPrefix)
                .setGrpcService(authzService(controlPlaneCluster, policyIds))
                .setFailureModeAllow(false)
                .setIncludePeerCertificate(true)
                .setTransportApiVersion(ApiVersion.V3)
                .build());
    }

    /** The HTTP ext_authz filter's config for an HTTP inbound listener (same service, timeout and failure mode). */
    public static io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz httpExtAuthz(
            String controlPlaneCluster, List<String> policyIds) {
        return io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz.newBuilder()
                .setGrpcService(authzService(controlPlaneCluster, policyIds))
                .setFailureModeAllow(false)
                .setIncludePeerCertificate(true)
                .setTransportApiVersion(ApiVersion.V3)
                .build();
    }

    /**
     * A mutual TCP inbound listener on {@code 0.0.0.0:port}: {@link #inboundTls}(true), then
     * {@link #networkExtAuthz}, then {@code tcp_proxy} to {@code appCluster}.
     */
    public static Listener inboundTcpListener(String name, String statPrefix, int port, String controlPlaneCluster,
            List<String> policyIds, String appCluster) {
        return Listener.newBuilder()
                .setName(name)
                .setAddress(socket("0.0.0.0", port))
                .addFilterChains(FilterChain.newBuilder()
                        .setTransportSocket(tlsSocket(inboundTls(true)))
                        .addFilters(networkExtAuthz(statPrefix, controlPlaneCluster, policyIds))
                        .addFilters(tcpProxy(statPrefix, appCluster)))
                .build();
    }

    /** An outbound listener on {@code 127.0.0.1:port} proxying TCP to {@code cluster} (which carries the TLS). */
    public static Listener outboundListener(String name, String statPrefix, int port, String cluster) {
        return Listener.newBuilder()
                .setName(name)
                .setAddress(socket("127.0.0.1", port))
                .addFilterChains(FilterChain.newBuilder().addFilters(tcpProxy(statPrefix, cluster)))
                .build();
    }

    /**
     * Upstream TLS to an attested service: SNI {@code sni}, certificate {@code default}, TLS 1.3 minimum, and
     * validation by the first required policy (SDS {@code policy:<id>} plus a static otherName SAN matcher), or
     * {@code ROOTCA} when none is required. Envoy takes one validation context per handshake, so only the first
     * policy is checked here; the full set is enforced by endpoint selection and the upstream's ext_authz.
     */
    public static UpstreamTlsContext upstreamTls(String sni, List<String> policyIds) {
        CommonTlsContext.Builder common = CommonTlsContext.newBuilder()
                .setTlsParams(tls13())
                .addTlsCertificateSdsSecretConfigs(adsSecret(SdsSecretNames.DEFAULT));
        if (policyIds.isEmpty()) {
            common.setValidationContextSdsSecretConfig(adsSecret(SdsSecretNames.ROOTCA));
        } else {
            String policyId = policyIds.getFirst();
            common.setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                    .setDefaultValidationContext(CertificateValidationContext.newBuilder()
                            .addMatchTypedSubjectAltNames(SubjectAltNameMatcher.newBuilder()
                                    .setSanType(SubjectAltNameMatcher.SanType.OTHER_NAME)
                                    .setOid(POLICY_SAN_OID)
                                    .setMatcher(StringMatcher.newBuilder().setExact(policyId))))
                    .setValidationContextSdsSecretConfig(adsSecret(SdsSecretNames.policy(policyId))));
        }
        return UpstreamTlsContext.newBuilder().setSni(sni).setCommonTlsContext(common).build();
    }

    /** The SDS validation secret an upstream TLS context refers to ({@code ROOTCA} or {@code policy:<id>}). */
    public static String validationSecretOf(UpstreamTlsContext tls) {
        CommonTlsContext c = tls.getCommonTlsContext();
        return c.hasCombinedValidationContext()
                ? c.getCombinedValidationContext().getValidationContextSdsSecretConfig().getName()
                : c.getValidationContextSdsSecretConfig().getName();
    }

    /** TLS parameters with 1.3 as the minimum version. */
    public static TlsParameters tls13() {
        return TlsParameters.newBuilder().setTlsMinimumProtocolVersion(TlsParameters.TlsProtocol.TLSv1_3).build();
    }

    /** An SDS secret reference served over ADS. */
    public static SdsSecretConfig adsSecret(String name) {
        return SdsSecretConfig.newBuilder().setName(name).setSdsConfig(ads()).build();
    }

    /** The ADS config source (v3). */
    public static ConfigSource ads() {
        return ConfigSource.newBuilder()
                .setAds(AggregatedConfigSource.getDefaultInstance())
                .setResourceApiVersion(ApiVersion.V3)
                .build();
    }

    /** The TLS transport socket around {@code tlsContext}. */
    public static TransportSocket tlsSocket(Message tlsContext) {
        return TransportSocket.newBuilder().setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(tlsContext))
                .build();
    }

    /** A {@code tcp_proxy} network filter. */
    public static Filter tcpProxy(String statPrefix, String cluster) {
        return filter("envoy.filters.network.tcp_proxy",
                TcpProxy.newBuilder().setStatPrefix(statPrefix).setCluster(cluster).build());
    }

    static Filter filter(String name, Message config) {
        return Filter.newBuilder().setName(name).setTypedConfig(Any.pack(config)).build();
    }

    static Address socket(String host, int port) {
        return Address.newBuilder()
                .setSocketAddress(SocketAddress.newBuilder().setAddress(host).setPortValue(port))
                .build();
    }
}
