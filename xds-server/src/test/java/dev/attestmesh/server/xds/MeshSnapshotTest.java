package dev.attestmesh.server.xds;

import static dev.attestmesh.server.testing.TestMesh.GOOD;
import static dev.attestmesh.server.testing.TestMesh.STRICT;
import static dev.attestmesh.server.testing.TestMesh.names;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Message;
import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.envoy.EnvoyConfigValidator;
import dev.attestmesh.envoy.Violation;
import dev.attestmesh.server.mesh.MeshConfigException;
import dev.attestmesh.server.mesh.MeshConfigRegistry.VersionedMeshConfig;
import dev.attestmesh.server.testing.TestMesh;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.ext_authz.v3.ExtAuthz;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Mesh config to per-node snapshots on a real control plane with simulated-TEE nodes: listeners,
 * clusters, EDS membership, schema validity, and per-type versions that change only where content did.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MeshSnapshotTest {
    static final String MESH = """
            services:
              - name: orders
                members: {nodes: [orders-1, orders-2, orders-3]}
                addresses: {orders-1: 10.0.0.1, orders-2: 10.0.0.2, orders-3: 10.0.0.3}
                ingress:
                  - {port: 8443, appPort: 8080, protocol: tcp, policies: [default]}
                  - {port: 8444, appPort: 8081, protocol: http, policies: [default, strict]}
              - name: payments
                members:
                  registrations: [nodes]
                  metadata: {app: payments}
                ingress: [{port: 9443, appPort: 9080}]
                egress:
                  - {port: 7001, service: orders, servicePort: 8443, policies: [default]}
                  - {port: 7002, service: orders, servicePort: 8444, policies: [strict]}
              - name: web
                members: {registrations: [nodes], cluster: web}
                ingress: [{port: 443, appPort: 8080}]
                egress: [{port: 7003, service: payments}]
            """;

    TestMesh mesh;
    NodeAgent paymentsAgent;
    AgentCredentials payments;
    NodeAgent webAgent;
    AgentCredentials web;

    @BeforeAll
    void start() throws Exception {
        mesh = new TestMesh(Optional.of(MESH));
        mesh.attest("orders-1", STRICT);
        mesh.attest("orders-2", GOOD);
        paymentsAgent = mesh.agent("payments-1", GOOD);
        payments = paymentsAgent.attestOnce();
        webAgent = mesh.agent("web-1", GOOD);
        web = webAgent.attestOnce();
        // Membership by registration narrowed by metadata and by cluster, and an address from node metadata, are learnt over ADS.
        mesh.presentOverAds(paymentsAgent, payments, "any", Map.of("app", "payments", "attestmesh.address", "10.0.0.9"));
        mesh.presentOverAds(webAgent, web, "web", Map.of());
    }

    @AfterAll
    void stop() {
        mesh.close();
    }

    Snapshot snapshot(String node) {
        Snapshot s = mesh.cp.xdsCache().getSnapshot(node);
        assertNotNull(s, "node " + node + " has a snapshot");
        return s;
    }

    @Test
    void ingressListenerRequiresAClientCertificateAndAsksExtAuthzForThePortsPolicies() throws Exception {
        Listener tcp = snapshot("orders-1").listeners().resources().get("inbound|8443");
        assertEquals(8443, tcp.getAddress().getSocketAddress().getPortValue());
        DownstreamTlsContext tls = tcp.getFilterChains(0).getTransportSocket().getTypedConfig()
                .unpack(DownstreamTlsContext.class);
        assertTrue(tls.getRequireClientCertificate().getValue());
        assertEquals("default", tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName());
        assertTrue(tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getSdsConfig().hasAds());
        assertEquals("ROOTCA", tls.getCommonTlsContext().getValidationContextSdsSecretConfig().getName());
        List<Filter> filters = tcp.getFilterChains(0).getFiltersList();
        assertEquals(List.of("envoy.filters.network.ext_authz", "envoy.filters.network.tcp_proxy"),
                filters.stream().map(Filter::getName).toList());
        ExtAuthz authz = filters.get(0).getTypedConfig().unpack(ExtAuthz.class);
        assertTrue(authz.getIncludePeerCertificate());
        assertFalse(authz.getFailureModeAllow());
        assertEquals("attestmesh-control-plane", authz.getGrpcService().getEnvoyGrpc().getClusterName());
        assertEquals("x-attestmesh-policy-ids", authz.getGrpcService().getInitialMetadata(0).getKey());
        assertEquals("default", authz.getGrpcService().getInitialMetadata(0).getValue());
        assertEquals("local|8080", filters.get(1).getTypedConfig().unpack(TcpProxy.class).getCluster());

        Listener http = snapshot("orders-1").listeners().resources().get("inbound|8444");
        List<Filter> hf = http.getFilterChains(0).getFiltersList();
        assertEquals("envoy.filters.network.ext_authz", hf.get(0).getName());
        assertEquals("default,strict", hf.get(0).getTypedConfig().unpack(ExtAuthz.class).getGrpcService()
                .getInitialMetadata(0).getValue());
        HttpConnectionManager hcm = hf.get(1).getTypedConfig().unpack(HttpConnectionManager.class);
        assertEquals(List.of("envoy.filters.http.ext_authz", "envoy.filters.http.router"),
                hcm.getHttpFiltersList().stream().map(f -> f.getName()).toList());
        assertEquals("local|8081", hcm.getRouteConfig().getVirtualHosts(0).getRoutes(0).getRoute().getCluster());

        Cluster local = snapshot("orders-1").clusters().resources().get("local|8080");
        assertEquals(Cluster.DiscoveryType.STATIC, local.getType());
        assertEquals("127.0.0.1", local.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint()
                .getAddress().getSocketAddress().getAddress());
        assertFalse(snapshot("orders-1").clusters().resources().containsKey("attestmesh-control-plane"),
                "the control plane cluster is static in the bootstrap");
    }

    @Test
    void egressListensOnLoopbackAndTheUpstreamMustProveThePolicyInTls() throws Exception {
        Snapshot p = snapshot("payments-1");
        assertEquals(List.of("inbound|9443", "outbound|7001", "outbound|7002"), names(List.copyOf(
                p.listeners().resources().values())).stream().sorted().toList());
        Listener out = p.listeners().resources().get("outbound|7002");
        assertEquals("127.0.0.1", out.getAddress().getSocketAddress().getAddress());
        assertEquals("outbound|8444|orders", out.getFilterChains(0).getFilters(0).getTypedConfig()
                .unpack(TcpProxy.class).getCluster());
        Cluster c = p.clusters().resources().get("outbound|8444|orders");
        assertEquals(Cluster.DiscoveryType.EDS, c.getType());
        assertTrue(c.getEdsClusterConfig().getEdsConfig().hasAds());
        UpstreamTlsContext tls = c.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
        assertEquals("default", tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName());
        assertEquals("policy:strict", dev.attestmesh.envoy.SidecarShapes.validationSecretOf(tls));
        assertEquals("strict", tls.getCommonTlsContext().getCombinedValidationContext().getDefaultValidationContext()
                .getMatchTypedSubjectAltNames(0).getMatcher().getExact(), "the policy SAN is required statically too");
        assertEquals("orders", tls.getSni());
        assertTrue(p.secrets().resources().containsKey("policy:strict"), "every referenced secret is published");
    }

    @Test
    void endpointsAreTheAttestedMembersSatisfyingTheEgressPolicies() {
        Snapshot p = snapshot("payments-1");
        assertEquals(List.of("10.0.0.1:8443", "10.0.0.2:8443"), endpoints(p, "outbound|8443|orders"));
        assertEquals(List.of("10.0.0.1:8444"), endpoints(p, "outbound|8444|orders"),
                "orders-2 does not satisfy 'strict'");
        assertEquals(List.of("10.0.0.9:9443"), endpoints(snapshot("web-1"), "outbound|9443|payments"),
                "address from node metadata; membership by metadata");
    }

    @Test
    void revokedNodeDropsOutOfEdsAndOnlyItsCallersGetANewEndpointsVersion() throws Exception {
        mesh.attest("orders-3", GOOD);
        Snapshot before = snapshot("payments-1");
        Snapshot webBefore = snapshot("web-1");
        Snapshot ordersBefore = snapshot("orders-1");
        assertTrue(endpoints(before, "outbound|8443|orders").contains("10.0.0.3:8443"));

        assertTrue(mesh.cp.registry().revoke("orders-3", "test: compromised host"));

        Snapshot after = snapshot("payments-1");
        assertEquals(List.of("10.0.0.1:8443", "10.0.0.2:8443"), endpoints(after, "outbound|8443|orders"));
        assertNotEquals(before.endpoints().version(), after.endpoints().version());
        assertEquals(before.listeners().version(), after.listeners().version(), "listeners are not re-sent");
        assertEquals(before.clusters().version(), after.clusters().version(), "clusters are not re-sent");
        assertEquals(before.secrets().version(), after.secrets().version(), "secrets are not re-sent");
        assertSame(webBefore, snapshot("web-1"), "a node that cannot see orders keeps its snapshot object");
        assertSame(ordersBefore, snapshot("orders-1"), "orders-1 does not call orders");
        assertEquals(null, mesh.cp.xdsCache().getSnapshot("orders-3"), "a revoked node gets nothing");
    }

    /**
     * One source for Envoy shapes: the bootstrap renderer's static resources and the generated xDS for the same
     * ports are equal wherever they describe the same thing (TLS, ext_authz, tcp_proxy, upstream TLS); they differ
     * only in names (static {@code ingress-<port>}/{@code egress-<port>} versus {@code inbound|<port>},
     * {@code outbound|<port>}) and the clusters those name. Both validate against Envoy's protos.
     */
    @Test
    void bootstrapStaticResourcesAndGeneratedXdsAreTheSameShapes() throws Exception {
        dev.attestmesh.envoy.BootstrapParameters params = new dev.attestmesh.envoy.BootstrapParameters("orders-1", "orders",
                "attestmesh.local", "127.0.0.1", 15010, java.nio.file.Path.of("/var/run/attestmesh"),
                List.of(new dev.attestmesh.envoy.BootstrapParameters.Ingress(8443, 8080, List.of("default"))),
                List.of(new dev.attestmesh.envoy.BootstrapParameters.Egress(7002, "10.0.0.1", 8444, "orders",
                        List.of("strict"))), 15000);
        io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap bootstrap =
                new dev.attestmesh.envoy.BootstrapRenderer().render(params).bootstrap();
        EnvoyConfigValidator validator = EnvoyConfigValidator.standard();
        assertEquals(List.of(), validator.validate(bootstrap));

        Listener staticIn = bootstrap.getStaticResources().getListenersList().stream()
                .filter(l -> l.getName().equals("ingress-8443")).findFirst().orElseThrow();
        Listener xdsIn = snapshot("orders-1").listeners().resources().get("inbound|8443");
        assertEquals(List.of(), validator.validate(xdsIn));
        assertEquals(staticIn.getAddress(), xdsIn.getAddress());
        assertEquals(staticIn.getFilterChains(0).getTransportSocket(), xdsIn.getFilterChains(0).getTransportSocket(),
                "identical downstream TLS");
        DownstreamTlsContext tls = xdsIn.getFilterChains(0).getTransportSocket().getTypedConfig()
                .unpack(DownstreamTlsContext.class);
        assertEquals(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters.TlsProtocol.TLSv1_3,
                tls.getCommonTlsContext().getTlsParams().getTlsMinimumProtocolVersion());
        ExtAuthz staticAuthz = staticIn.getFilterChains(0).getFilters(0).getTypedConfig().unpack(ExtAuthz.class);
        ExtAuthz xdsAuthz = xdsIn.getFilterChains(0).getFilters(0).getTypedConfig().unpack(ExtAuthz.class);
        assertEquals(staticAuthz.toBuilder().clearStatPrefix().build(), xdsAuthz.toBuilder().clearStatPrefix().build(),
                "identical ext_authz but for the stat prefix");
        assertEquals(500_000_000, xdsAuthz.getGrpcService().getTimeout().getNanos());
        assertEquals(staticIn.getFilterChains(0).getFilters(1).getName(), xdsIn.getFilterChains(0).getFilters(1).getName());
        assertEquals(2, staticIn.getFilterChains(0).getFiltersCount());
        assertEquals(2, xdsIn.getFilterChains(0).getFiltersCount());

        Listener staticOut = bootstrap.getStaticResources().getListenersList().stream()
                .filter(l -> l.getName().equals("egress-7002")).findFirst().orElseThrow();
        Listener xdsOut = snapshot("payments-1").listeners().resources().get("outbound|7002");
        assertEquals(staticOut.getAddress(), xdsOut.getAddress());
        assertEquals(staticOut.getFilterChains(0).getFilters(0).getName(), xdsOut.getFilterChains(0).getFilters(0).getName());
        assertEquals(1, staticOut.getFilterChains(0).getFiltersCount());
        assertEquals(1, xdsOut.getFilterChains(0).getFiltersCount());

        Cluster staticUp = bootstrap.getStaticResources().getClustersList().stream()
                .filter(c -> c.getName().equals("egress-7002")).findFirst().orElseThrow();
        Cluster xdsUp = snapshot("payments-1").clusters().resources().get("outbound|8444|orders");
        assertEquals(List.of(), validator.validate(xdsUp));
        assertEquals(staticUp.getTransportSocket(), xdsUp.getTransportSocket(), "identical upstream TLS");
        assertEquals(staticUp.getConnectTimeout(), xdsUp.getConnectTimeout());
    }

    @Test
    void everyGeneratedResourceIsValidAgainstEnvoysSchema() {
        EnvoyConfigValidator validator = EnvoyConfigValidator.standard();
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (String node : List.of("orders-1", "orders-2", "payments-1", "web-1")) {
            Snapshot s = snapshot(node);
            List<Message> all = new ArrayList<>();
            all.addAll(s.listeners().resources().values());
            all.addAll(s.clusters().resources().values());
            all.addAll(s.endpoints().resources().values());
            all.addAll(s.routes().resources().values());
            all.addAll(s.secrets().resources().values());
            for (Message m : all) {
                checked++;
                for (Violation v : validator.validate(m)) {
                    problems.add(node + " " + m.getDescriptorForType().getName() + ": " + v);
                }
            }
        }
        assertTrue(checked > 20, "checked " + checked);
        assertEquals(List.of(), problems);
        // The check can fail: a listener whose HTTP connection manager lacks its stat prefix is flagged.
        Listener broken = snapshot("orders-1").listeners().resources().get("inbound|8444").toBuilder()
                .clearName().build();
        assertFalse(validator.validate(broken.toBuilder().setFilterChains(0, broken.getFilterChains(0).toBuilder()
                .setFilters(1, broken.getFilterChains(0).getFilters(1).toBuilder().setTypedConfig(
                        com.google.protobuf.Any.pack(HttpConnectionManager.newBuilder().build()))))).isEmpty());
    }

    @Test
    void extAuthzFallbackFindsTheRequiredPoliciesByDestinationPrincipalAndPort() {
        String orders1 = mesh.cp.registry().entry("orders-1").orElseThrow().spiffeId();
        assertEquals(List.of("default", "strict"), mesh.cp.registry().requiredPolicies(orders1, 8444));
        assertEquals(List.of("default"), mesh.cp.registry().requiredPolicies(orders1, 8443));
        assertEquals(List.of(), mesh.cp.registry().requiredPolicies(orders1, 9999));
        assertEquals(List.of(), mesh.cp.registry().requiredPolicies("spiffe://attestmesh.local/node/nobody", 8443));
    }

    @Test
    void meshPolicyTableHoldsExactlyTheNonEmptyAnswersOfTheExtAuthzFallback() {
        var table = mesh.cp.registry().meshPolicyTable();
        Map<String, Map<Integer, List<String>>> expected = new java.util.HashMap<>();
        for (var node : mesh.cp.registry().entries()) { // orders-3 joins (and is revoked) in another test
            if (node.nodeId().startsWith("orders-")) {
                expected.put(node.spiffeId(), Map.of(8443, List.of("default"), 8444, List.of("default", "strict")));
            }
        }
        assertTrue(expected.size() >= 2, "orders-1 and orders-2 are in the registry");
        assertEquals(expected, table.byPrincipal(), "payments and web ingress require nothing");
        for (var node : mesh.cp.registry().entries()) {
            for (int port : List.of(443, 8443, 8444, 9443, 9999)) {
                assertEquals(mesh.cp.registry().requiredPolicies(node.spiffeId(), port),
                        table.required(node.spiffeId(), port), node.nodeId() + " port " + port);
            }
        }
    }

    @Test
    void invalidReplacementChangesNothingAndAnIdenticalOneKeepsTheVersion() throws Exception {
        VersionedMeshConfig current = mesh.cp.mesh().current();
        assertEquals(1, current.version());
        Snapshot before = snapshot("payments-1");
        MeshConfigException e = assertThrows(MeshConfigException.class, () -> mesh.cp.mesh().replace(
                MESH.replace("policies: [strict]", "policies: [platinum]")));
        assertTrue(e.problems().getFirst().contains("unknown policy ID 'platinum'"), e.problems().toString());
        assertSame(current, mesh.cp.mesh().current());
        assertSame(current, mesh.cp.mesh().replace(MESH));
        assertSame(before, snapshot("payments-1"));
    }

    static List<String> endpoints(Snapshot s, String cluster) {
        ClusterLoadAssignment cla = s.endpoints().resources().get(cluster);
        assertNotNull(cla, "EDS resource " + cluster + " is published");
        return cla.getEndpointsList().stream().flatMap(l -> l.getLbEndpointsList().stream())
                .map(e -> e.getEndpoint().getAddress().getSocketAddress())
                .map(a -> a.getAddress() + ":" + a.getPortValue()).sorted().toList();
    }
}
