package dev.attestmesh.server.xds;

import dev.attestmesh.envoy.SidecarShapes;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.Duration;
import com.google.protobuf.UInt32Value;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.sds.SdsNames;
import dev.attestmesh.server.mesh.MeshConfig;
import dev.attestmesh.server.mesh.MeshConfigRegistry;
import dev.attestmesh.server.mesh.AttestedNodeIdentity;
import dev.attestmesh.server.mesh.MeshService;
import dev.attestmesh.server.mesh.MeshService.EgressPort;
import dev.attestmesh.server.mesh.MeshService.IngressPort;
import dev.attestmesh.server.mesh.MeshService.Protocol;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.registry.NodeEntry;
import dev.attestmesh.server.registry.NodeRegistry;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.ApiListener;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.route.v3.NonForwardingAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateProviderPluginInstance;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.SequencedMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the mesh config into one node's LDS/RDS/CDS/EDS resources (DESIGN.md section 6). Output is
 * deterministic: the same config and registry state give byte-identical resources in the same order,
 * which is what makes content-hash versions stable.
 *
 * <p>Envoy nodes get, per ingress port, an inbound listener {@code inbound|<port>}: downstream TLS with
 * SDS {@code default} and {@code ROOTCA}, a client certificate required (mutual services), network
 * {@code ext_authz} to the {@value #CONTROL_PLANE_CLUSTER} cluster (bootstrap-defined) carrying
 * {@value #POLICY_HEADER}, then {@code tcp_proxy} (tcp) or an HTTP connection manager with HTTP
 * {@code ext_authz} (http) to the local application cluster {@code local|<appPort>}. Per egress port an
 * outbound listener {@code outbound|<port>} on 127.0.0.1 proxies to the EDS cluster
 * {@code outbound|<servicePort>|<service>}, whose upstream TLS presents {@code default} and validates
 * with {@code policy:<id>} of the first required policy ({@code ROOTCA} when none).
 *
 * <p>Proxyless gRPC nodes get, per ingress port, the server listener named by
 * {@value #GRPC_SERVER_LISTENER_TEMPLATE} (TLS from the {@value #CERTIFICATE_PROVIDER_INSTANCE}
 * certificate provider instance, client certificate required, RBAC allowing only the SPIFFE IDs of
 * attested callers that satisfy the port's policies) and, per egress, an API listener named after the
 * upstream service with an RDS route ({@code route|<service>}) to the same EDS cluster, whose upstream
 * TLS accepts only the SPIFFE IDs of the qualifying endpoints.
 *
 * <p>EDS endpoints are the ATTESTED (so neither revoked nor expired) members of the upstream service that
 * satisfy every required policy under its current version and have an address: the node metadata value
 * {@value MeshConfig#ADDRESS_METADATA_KEY}, else the service's {@code addresses} entry. Thread-safe.
 */
public final class MeshResourceGenerator {
    private static final Logger LOG = LoggerFactory.getLogger(MeshResourceGenerator.class);

    /** The bootstrap-defined cluster that reaches the control plane (ext_authz, ADS). */
    public static final String CONTROL_PLANE_CLUSTER = "attestmesh-control-plane";
    /** gRPC header naming the policy IDs ext_authz must require for a listener. */
    public static final String POLICY_HEADER = SidecarShapes.POLICY_IDS_HEADER;
    /** Certificate provider instance name proxyless gRPC nodes must define (plugin {@code file_watcher}). */
    public static final String CERTIFICATE_PROVIDER_INSTANCE = "attestmesh";
    /** The {@code server_listener_resource_name_template} proxyless gRPC servers must use. */
    public static final String GRPC_SERVER_LISTENER_TEMPLATE = "grpc/server?xds.resource.listening_address=%s";

    private static final Duration CONNECT_TIMEOUT = Duration.newBuilder().setSeconds(5).build();
    /** At most one warning about members without an address per service in this long. */
    static final java.time.Duration NO_ADDRESS_WARNING_INTERVAL = java.time.Duration.ofMinutes(1);
    /** Node ids named in one such warning; the rest are counted. */
    private static final int NO_ADDRESS_NAMED = 5;
    /** Service name to when its members without an address were last logged; cleared past 1,024 services. */
    private final Map<String, Long> noAddressWarnedAt = new java.util.concurrent.ConcurrentHashMap<>();
    /** {@link #qualifiedMembers} by upstream and required policies, with what each was computed from. */
    private final Map<MembersKey, Members> members = new java.util.concurrent.ConcurrentHashMap<>();

    private final MeshConfigRegistry mesh;
    private final NodeRegistry registry;
    private final PolicyRegistry policies;

    public MeshResourceGenerator(MeshConfigRegistry mesh, NodeRegistry registry, PolicyRegistry policies) {
        this.mesh = mesh;
        this.registry = registry;
        this.policies = policies;
    }

    /** One node's resources by type, each list ordered by resource name. */
    /**
     * One node's resources by type, each list ordered by resource name.
     *
     * @param validationPolicies policy IDs whose {@code policy:<id>} SDS secrets these resources reference
     *     (they must be published even if the policy was removed since, or the node's SDS request hangs)
     */
    public record NodeResources(List<Listener> listeners, List<RouteConfiguration> routes, List<Cluster> clusters,
            List<ClusterLoadAssignment> endpoints, List<String> validationPolicies) {
        public static final NodeResources NONE = new NodeResources(List.of(), List.of(), List.of(), List.of(),
                List.of());

        public NodeResources {
            listeners = List.copyOf(listeners);
            routes = List.copyOf(routes);
            clusters = List.copyOf(clusters);
            endpoints = List.copyOf(endpoints);
            validationPolicies = List.copyOf(validationPolicies);
        }
    }

    /**
     * The nodes whose resources can change when node {@code nodeId}'s record changes, what it presents over xDS
     * staying the same: the node itself; the members of every service with an egress to one of its services (their
     * endpoints, and a proxyless caller's accepted upstream SPIFFE IDs); the members of the proxyless services its
     * services call (a proxyless server's RBAC lists its attested callers). Those are the only places {@link
     * #generate} reads another node's record, and membership is decided per node, so no other node's resources
     * change. Its services are those it is in under any of {@code identities}: the identities (SPIFFE ID and
     * registration) it had before and after the change, so a node leaving a service leaves its callers' endpoints
     * too.
     */
    public java.util.SortedSet<String> affectedBy(String nodeId, java.util.Collection<AttestedNodeIdentity> identities) {
        java.util.SortedSet<String> out = new java.util.TreeSet<>();
        out.add(nodeId);
        List<MeshService> mine = new ArrayList<>();
        for (MeshService s : mesh.current().config().services()) {
            if (identities.stream().anyMatch(id -> mesh.isMember(s, nodeId, id))) {
                mine.add(s);
            }
        }
        if (mine.isEmpty()) {
            return out;
        }
        java.util.Set<String> names = new java.util.HashSet<>();
        java.util.Set<String> called = new java.util.HashSet<>();
        for (MeshService m : mine) {
            names.add(m.name());
            m.egress().forEach(e -> called.add(e.service()));
        }
        List<MeshService> seeing = new ArrayList<>();
        for (MeshService s : mesh.current().config().services()) {
            boolean callsMine = s.egress().stream().anyMatch(e -> names.contains(e.service()));
            if (callsMine || s.proxyless() && called.contains(s.name())) {
                seeing.add(s);
            }
        }
        if (seeing.isEmpty()) {
            return out;
        }
        for (NodeEntry n : registry.entries()) {
            AttestedNodeIdentity proven = new AttestedNodeIdentity(n.spiffeId(), n.registration());
            for (MeshService s : seeing) {
                if (mesh.isMember(s, n.nodeId(), proven)) {
                    out.add(n.nodeId());
                    break;
                }
            }
        }
        return out;
    }

    /**
     * Logs the qualified members of {@code up} that have no address, at most once per service per {@link
     * #NO_ADDRESS_WARNING_INTERVAL}: the endpoints are computed for every caller's snapshot on every change that
     * reaches it, and a line per member per build would grow with callers x members.
     */
    private void warnWithoutAddress(MeshService up, String cluster, List<String> nodeIds) {
        long now = System.nanoTime();
        Long last = noAddressWarnedAt.get(up.name());
        if (last != null && now - last < NO_ADDRESS_WARNING_INTERVAL.toNanos()) {
            return;
        }
        if (noAddressWarnedAt.size() > 1024) {
            noAddressWarnedAt.clear(); // services removed from the config leave their names behind
        }
        noAddressWarnedAt.put(up.name(), now);
        String named = String.join(", ", nodeIds.subList(0, Math.min(NO_ADDRESS_NAMED, nodeIds.size())))
                + (nodeIds.size() > NO_ADDRESS_NAMED ? " and " + (nodeIds.size() - NO_ADDRESS_NAMED) + " more" : "");
        LOG.warn("{} node(s) of service '{}' have no address (node metadata '{}' or the service's addresses) and are not "
                + "endpoints of {}: {} (logged at most once a minute per service)", nodeIds.size(), up.name(),
                MeshConfig.ADDRESS_METADATA_KEY, cluster, named);
    }

    /** The resources for {@code node}; none when it is not attested or belongs to no service. */
    public NodeResources generate(NodeEntry node) {
        if (node.state() != NodeState.ATTESTED) {
            return NodeResources.NONE;
        }
        SequencedMap<String, Listener> listeners = new LinkedHashMap<>();
        SequencedMap<String, RouteConfiguration> routes = new LinkedHashMap<>();
        SequencedMap<String, Cluster> clusters = new LinkedHashMap<>();
        SequencedMap<String, ClusterLoadAssignment> endpoints = new LinkedHashMap<>();
        MeshConfig config = mesh.current().config();
        for (MeshService s : mesh.servicesOf(node.nodeId())) {
            for (IngressPort in : s.ingress()) {
                if (s.proxyless()) {
                    Listener l = grpcServerListener(config, s, in);
                    put(listeners, l.getName(), l, node);
                } else {
                    put(listeners, inboundName(in.port()), envoyInbound(s, in), node);
                    String local = localName(in.appPort());
                    put(clusters, local, localCluster(local, in.appPort()), node);
                }
            }
            for (EgressPort out : s.egress()) {
                String cluster = outboundClusterName(out);
                MeshService up = config.service(out.service()).orElseThrow();
                List<NodeEntry> qualified = qualifiedMembers(up, out.policies());
                if (s.proxyless()) {
                    String route = "route|" + out.service();
                    put(listeners, out.service(), grpcApiListener(out.service(), route), node);
                    put(routes, route, RouteConfiguration.newBuilder().setName(route)
                            .addVirtualHosts(VirtualHost.newBuilder().setName(out.service()).addDomains("*")
                                    .addRoutes(Route.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix(""))
                                            .setRoute(RouteAction.newBuilder().setCluster(cluster)))).build(), node);
                    put(clusters, cluster, edsCluster(cluster, grpcUpstreamTls(qualified)), node);
                } else {
                    put(listeners, outboundName(out.port()), envoyOutbound(out, cluster), node);
                    put(clusters, cluster, edsCluster(cluster, envoyUpstreamTls(out)), node);
                }
                put(endpoints, cluster, loadAssignment(cluster, up, out.servicePort(), qualified), node);
            }
        }
        List<String> validationPolicies = clusters.values().stream()
                .filter(c -> c.hasTransportSocket() && c.getTransportSocket().getTypedConfig().is(UpstreamTlsContext.class))
                .map(c -> SidecarShapes.validationSecretOf(unpackUpstream(c)))
                .flatMap(name -> SdsNames.policyIdOf(name).stream()).distinct().sorted().toList();
        return new NodeResources(sorted(listeners), sorted(routes), sorted(clusters), sorted(endpoints),
                validationPolicies);
    }

    private static UpstreamTlsContext unpackUpstream(Cluster c) {
        try {
            return c.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalStateException("generated cluster " + c.getName() + " does not unpack", e);
        }
    }

    /** The listener name a proxyless gRPC server listening on {@code port} asks for. */
    public static String grpcServerListenerName(int port) {
        return GRPC_SERVER_LISTENER_TEMPLATE.formatted("0.0.0.0:" + port);
    }

    static String inboundName(int port) {
        return "inbound|" + port;
    }

    static String outboundName(int port) {
        return "outbound|" + port;
    }

    static String localName(int appPort) {
        return "local|" + appPort;
    }

    /** The EDS cluster for an egress port: {@code outbound|<servicePort>|<service>}. */
    public static String outboundClusterName(EgressPort out) {
        return "outbound|" + out.servicePort() + "|" + out.service();
    }

    private static <T> void put(Map<String, T> into, String name, T resource, NodeEntry node) {
        if (into.putIfAbsent(name, resource) != null) {
            // Two services sharing this node both claim the name (possible only through cluster or
            // metadata membership, which validation cannot see): the first service in config order wins.
            LOG.warn("node {}: resource '{}' is generated by more than one of its services; keeping the first",
                    node.nodeId(), name);
        }
    }

    private static <T> List<T> sorted(SequencedMap<String, T> byName) {
        return byName.entrySet().stream().sorted(Map.Entry.comparingByKey()).map(Map.Entry::getValue).toList();
    }

    // ----- Envoy -----

    // Inbound and outbound shapes come from SidecarShapes (envoy-configs), shared with the bootstrap renderer.
    private Listener envoyInbound(MeshService s, IngressPort in) {
        String stat = "inbound_" + in.port();
        String local = localName(in.appPort());
        if (s.mutual() && in.protocol() == Protocol.TCP) {
            return SidecarShapes.inboundTcpListener(inboundName(in.port()), stat, in.port(), CONTROL_PLANE_CLUSTER,
                    in.policies(), local);
        }
        FilterChain.Builder chain = FilterChain.newBuilder()
                .setTransportSocket(SidecarShapes.tlsSocket(SidecarShapes.inboundTls(s.mutual())));
        if (s.mutual()) {
            chain.addFilters(SidecarShapes.networkExtAuthz(stat, CONTROL_PLANE_CLUSTER, in.policies()));
        }
        if (in.protocol() == Protocol.TCP) {
            chain.addFilters(SidecarShapes.tcpProxy(stat, local));
        } else {
            HttpConnectionManager.Builder hcm = HttpConnectionManager.newBuilder().setStatPrefix(stat)
                    .setRouteConfig(RouteConfiguration.newBuilder().setName(inboundName(in.port()))
                            .addVirtualHosts(VirtualHost.newBuilder().setName(s.name()).addDomains("*")
                                    .addRoutes(Route.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/"))
                                            .setRoute(RouteAction.newBuilder().setCluster(local)))));
            if (s.mutual()) {
                hcm.addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.ext_authz")
                        .setTypedConfig(Any.pack(SidecarShapes.httpExtAuthz(CONTROL_PLANE_CLUSTER, in.policies()))));
            }
            hcm.addHttpFilters(router());
            chain.addFilters(Filter.newBuilder().setName("envoy.filters.network.http_connection_manager")
                    .setTypedConfig(Any.pack(hcm.build())));
        }
        return Listener.newBuilder().setName(inboundName(in.port()))
                .setAddress(socket("0.0.0.0", in.port())).addFilterChains(chain).build();
    }

    private static Listener envoyOutbound(EgressPort out, String cluster) {
        return SidecarShapes.outboundListener(outboundName(out.port()), "outbound_" + out.port(), out.port(), cluster);
    }

    private static TransportSocket envoyUpstreamTls(EgressPort out) {
        return SidecarShapes.tlsSocket(SidecarShapes.upstreamTls(out.service(), out.policies()));
    }

    private static Cluster localCluster(String name, int appPort) {
        return Cluster.newBuilder().setName(name).setType(Cluster.DiscoveryType.STATIC)
                .setConnectTimeout(CONNECT_TIMEOUT)
                .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName(name)
                        .addEndpoints(LocalityLbEndpoints.newBuilder().addLbEndpoints(LbEndpoint.newBuilder()
                                .setEndpoint(Endpoint.newBuilder().setAddress(socket("127.0.0.1", appPort))))))
                .build();
    }


    private static SdsSecretConfig sds(String name) {
        return SdsSecretConfig.newBuilder().setName(name).setSdsConfig(ads()).build();
    }

    private static ConfigSource ads() {
        return ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance())
                .setResourceApiVersion(ApiVersion.V3).build();
    }

    private static HttpFilter router() {
        return HttpFilter.newBuilder().setName("envoy.filters.http.router")
                .setTypedConfig(Any.pack(Router.getDefaultInstance())).build();
    }

    // ----- proxyless gRPC -----

    private Listener grpcServerListener(MeshConfig config, MeshService s, IngressPort in) {
        CommonTlsContext.Builder common = CommonTlsContext.newBuilder()
                .setTlsCertificateProviderInstance(provider(SdsNames.DEFAULT));
        DownstreamTlsContext.Builder tls = DownstreamTlsContext.newBuilder();
        RBAC.Builder rbac = RBAC.newBuilder();
        io.envoyproxy.envoy.config.rbac.v3.RBAC.Builder rules = io.envoyproxy.envoy.config.rbac.v3.RBAC.newBuilder()
                .setAction(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.ALLOW);
        if (s.mutual()) {
            common.setValidationContext(CertificateValidationContext.newBuilder()
                    .setCaCertificateProviderInstance(provider(SdsNames.ROOTCA)));
            tls.setRequireClientCertificate(BoolValue.of(true));
            // gRPC has no ext_authz peer (see NOTES.md), so the control plane decides here: only callers
            // configured to call this port, attested and satisfying its policies, are allowed by SPIFFE ID.
            Policy.Builder allowed = Policy.newBuilder().addPermissions(Permission.newBuilder().setAny(true));
            for (String spiffe : callerSpiffeIds(config, s, in)) {
                allowed.addPrincipals(Principal.newBuilder().setAuthenticated(Principal.Authenticated.newBuilder()
                        .setPrincipalName(StringMatcher.newBuilder().setExact(spiffe))));
            }
            if (allowed.getPrincipalsCount() > 0) {
                rules.putPolicies("attested-callers", allowed.build());
            }
        } else {
            rules.putPolicies("any-caller", Policy.newBuilder().addPermissions(Permission.newBuilder().setAny(true))
                    .addPrincipals(Principal.newBuilder().setAny(true)).build());
        }
        rbac.setRules(rules);
        tls.setCommonTlsContext(common);
        HttpConnectionManager hcm = HttpConnectionManager.newBuilder().setStatPrefix("inbound_" + in.port())
                .setRouteConfig(RouteConfiguration.newBuilder().setName(inboundName(in.port()))
                        .addVirtualHosts(VirtualHost.newBuilder().setName(s.name()).addDomains("*")
                                .addRoutes(Route.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix(""))
                                        .setNonForwardingAction(NonForwardingAction.getDefaultInstance()))))
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.rbac")
                        .setTypedConfig(Any.pack(rbac.build())))
                .addHttpFilters(router())
                .build();
        return Listener.newBuilder().setName(grpcServerListenerName(in.port()))
                .setAddress(socket("0.0.0.0", in.port()))
                .addFilterChains(FilterChain.newBuilder().setName("inbound_" + in.port())
                        .setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
                                .setTypedConfig(Any.pack(tls.build())))
                        .addFilters(Filter.newBuilder().setName("envoy.filters.network.http_connection_manager")
                                .setTypedConfig(Any.pack(hcm))))
                .build();
    }

    /** SPIFFE IDs of attested nodes whose services have an egress to {@code (s, in)} and that satisfy its policies. */
    private List<String> callerSpiffeIds(MeshConfig config, MeshService s, IngressPort in) {
        List<String> out = new ArrayList<>();
        for (MeshService caller : config.services()) {
            boolean calls = caller.egress().stream()
                    .anyMatch(e -> e.service().equals(s.name()) && e.servicePort() == in.port());
            if (calls) {
                for (NodeEntry n : qualifiedMembers(caller, in.policies())) {
                    if (!out.contains(n.spiffeId())) {
                        out.add(n.spiffeId());
                    }
                }
            }
        }
        out.sort(null);
        return out;
    }

    private static Listener grpcApiListener(String service, String route) {
        HttpConnectionManager hcm = HttpConnectionManager.newBuilder().setStatPrefix("outbound_" + service)
                .setRds(Rds.newBuilder().setConfigSource(ads()).setRouteConfigName(route))
                .addHttpFilters(router()).build();
        return Listener.newBuilder().setName(service)
                .setApiListener(ApiListener.newBuilder().setApiListener(Any.pack(hcm))).build();
    }

    private static TransportSocket grpcUpstreamTls(List<NodeEntry> qualified) {
        CertificateValidationContext.Builder v = CertificateValidationContext.newBuilder()
                .setCaCertificateProviderInstance(provider(SdsNames.ROOTCA));
        // gRPC has no SDS policy:<id> secrets; pin the upstream to the qualifying endpoints' SPIFFE IDs.
        qualified.stream().map(NodeEntry::spiffeId).sorted().forEach(id ->
                v.addMatchSubjectAltNames(StringMatcher.newBuilder().setExact(id)));
        // No SNI: gRPC may verify the server certificate against it, and node certificates carry only
        // their SPIFFE ID; the SAN matchers below are the check.
        UpstreamTlsContext tls = UpstreamTlsContext.newBuilder()
                .setCommonTlsContext(CommonTlsContext.newBuilder()
                        .setTlsCertificateProviderInstance(provider(SdsNames.DEFAULT))
                        .setValidationContext(v))
                .build();
        return TransportSocket.newBuilder().setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(tls)).build();
    }

    private static CertificateProviderPluginInstance provider(String certificateName) {
        return CertificateProviderPluginInstance.newBuilder().setInstanceName(CERTIFICATE_PROVIDER_INSTANCE)
                .setCertificateName(certificateName).build();
    }

    // ----- shared -----

    private static Cluster edsCluster(String name, TransportSocket tls) {
        return Cluster.newBuilder().setName(name).setType(Cluster.DiscoveryType.EDS)
                .setConnectTimeout(CONNECT_TIMEOUT)
                .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ads()).setServiceName(name))
                .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN)
                .setTransportSocket(tls).build();
    }

    private ClusterLoadAssignment loadAssignment(String cluster, MeshService up, int port, List<NodeEntry> qualified) {
        LocalityLbEndpoints.Builder locality = LocalityLbEndpoints.newBuilder()
                .setLoadBalancingWeight(UInt32Value.of(1)); // gRPC ignores localities without a weight
        List<String> withoutAddress = new ArrayList<>();
        for (NodeEntry n : qualified) {
            Optional<String> address = addressOf(up, n.nodeId());
            if (address.isEmpty()) {
                withoutAddress.add(n.nodeId());
                continue;
            }
            locality.addLbEndpoints(LbEndpoint.newBuilder().setHealthStatus(HealthStatus.HEALTHY)
                    .setEndpoint(Endpoint.newBuilder().setAddress(socket(address.get(), port))));
        }
        if (!withoutAddress.isEmpty()) {
            warnWithoutAddress(up, cluster, withoutAddress);
        }
        ClusterLoadAssignment.Builder cla = ClusterLoadAssignment.newBuilder().setClusterName(cluster);
        if (locality.getLbEndpointsCount() > 0) {
            cla.addEndpoints(locality);
        }
        return cla.build();
    }

    private Optional<String> addressOf(MeshService s, String nodeId) {
        String fromMetadata = mesh.identityOf(nodeId).metadata().get(MeshConfig.ADDRESS_METADATA_KEY);
        if (fromMetadata != null && !fromMetadata.isBlank()) {
            return Optional.of(fromMetadata);
        }
        return Optional.ofNullable(s.addresses().get(nodeId));
    }

    /** Attested members of {@code s} satisfying every policy in {@code required} under its current version. */
    /**
     * {@link #computeQualifiedMembers}, kept while nothing it reads has changed: every caller's snapshot asks for the
     * same upstream's members, so rebuilding the snapshots of N callers reads the registry once, not N times (each
     * read is a pass over every node). The stamp is read before the registry, so a result is never kept past a change.
     */
    private List<NodeEntry> qualifiedMembers(MeshService s, List<String> required) {
        MembersKey key = new MembersKey(s.name(), required);
        List<java.util.OptionalLong> versions = required.stream().map(policies::version).toList();
        MembersStamp stamp = new MembersStamp(registry.modifications(), mesh.presentedGeneration(), mesh.current(),
                s, versions);
        Members held = members.get(key);
        if (held != null && held.stamp().equals(stamp)) {
            return held.nodes();
        }
        List<NodeEntry> computed = List.copyOf(computeQualifiedMembers(s, required));
        if (members.size() > 1024) {
            members.clear(); // keys of services or policy lists no longer configured
        }
        members.put(key, new Members(stamp, computed));
        return computed;
    }

    private record MembersKey(String service, List<String> required) {}

    /** What {@link #computeQualifiedMembers} reads: every record, presented identities, the config, policy versions. */
    private record MembersStamp(long registryModifications, long presentedGeneration, Object config, MeshService service,
            List<java.util.OptionalLong> policyVersions) {
        @Override
        public boolean equals(Object o) {
            return o instanceof MembersStamp m && m.registryModifications == registryModifications
                    && m.presentedGeneration == presentedGeneration && m.config == config && m.service == service
                    && m.policyVersions.equals(policyVersions);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(registryModifications);
        }
    }

    private record Members(MembersStamp stamp, List<NodeEntry> nodes) {}

    private List<NodeEntry> computeQualifiedMembers(MeshService s, List<String> required) {
        List<NodeEntry> out = new ArrayList<>();
        for (NodeEntry n : registry.entries()) {
            if (n.state() == NodeState.ATTESTED
                    && mesh.isMember(s, n.nodeId(), new AttestedNodeIdentity(n.spiffeId(), n.registration()))
                    && satisfiesAll(n, required)) {
                out.add(n);
            }
        }
        out.sort((a, b) -> a.nodeId().compareTo(b.nodeId()));
        return out;
    }

    private boolean satisfiesAll(NodeEntry n, List<String> required) {
        for (String id : required) {
            Long satisfied = n.satisfiedPolicies().get(id);
            OptionalLong current = policies.version(id);
            if (satisfied == null || current.isEmpty() || satisfied != current.getAsLong()) {
                return false;
            }
        }
        return true;
    }

    private static Address socket(String ip, int port) {
        return Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress(ip).setPortValue(port))
                .build();
    }
}
