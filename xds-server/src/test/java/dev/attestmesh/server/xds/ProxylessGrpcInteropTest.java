package dev.attestmesh.server.xds;

import static dev.attestmesh.server.testing.TestMesh.GOOD;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.CredentialFiles;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.envoy.EnvoyConfigValidator;
import dev.attestmesh.server.testing.TestMesh;
import dev.attestmesh.server.xds.XdsSyncTracker.SyncState;
import dev.attestmesh.server.xds.XdsSyncTracker.TypeStatus;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.listener.v3.ApiListener;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.NameResolverRegistry;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.xds.XdsChannelCredentials;
import io.grpc.xds.XdsNameResolverProvider;
import io.grpc.xds.XdsServerBuilder;
import io.grpc.xds.XdsServerCredentials;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.TestMethodOrder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * Interop with a real xDS client: gRPC-java's proxyless xDS server and client (grpc-xds) fetch
 * LDS/RDS/CDS/EDS from the control plane over ADS (mTLS with the node agent's files), ACK, and make an
 * RPC with mTLS from the file_watcher certificate provider and an RBAC rule on the caller's SPIFFE ID.
 * A deliberately invalid listener is NACKed and the NACK is visible in the sync tracker.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ProxylessGrpcInteropTest {
    static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
    static final String RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
    static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    static final String EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

    TestMesh mesh;
    int port;
    Server server;
    ManagedChannel channel;
    XdsNameResolverProvider resolver;
    final List<String> callerPrincipals = new CopyOnWriteArrayList<>();

    @BeforeAll
    void start() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort(); // the mesh config names the server's port
        }
        mesh = new TestMesh(Optional.of("""
                services:
                  - name: greeter
                    proxyless: true
                    members: {nodes: [greeter-1]}
                    ingress: [{port: %d, policies: [default]}]
                  - name: caller
                    proxyless: true
                    members: {nodes: [caller-1]}
                    egress: [{service: greeter, policies: [default]}]
                """.formatted(port)));
        NodeAgent greeterAgent = mesh.agent("greeter-1", GOOD);
        greeterAgent.attestOnce();
        NodeAgent callerAgent = mesh.agent("caller-1", GOOD);
        callerAgent.attestOnce();

        HealthStatusManager health = new HealthStatusManager();
        server = XdsServerBuilder.forPort(port, XdsServerCredentials.create(InsecureServerCredentials.create()))
                .overrideBootstrapForTest(bootstrap(greeterAgent, "greeter-1"))
                .drainGraceTime(1, TimeUnit.SECONDS) // connections under a replaced listener close quickly
                .addService(ServerInterceptors.intercept(health.getHealthService(), new PeerRecorder()))
                .build();
        // start() blocks until the server's listener arrives over ADS; bound it.
        CompletableFuture<Void> started = CompletableFuture.runAsync(() -> {
            try {
                server.start();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        started.get(20, TimeUnit.SECONDS);

        resolver = XdsNameResolverProvider.createForTest("attestmesh-caller", bootstrap(callerAgent, "caller-1"));
        NameResolverRegistry.getDefaultRegistry().register(resolver);
        channel = Grpc.newChannelBuilder("attestmesh-caller:///greeter",
                XdsChannelCredentials.create(InsecureChannelCredentials.create())).build();
    }

    @AfterAll
    void stop() throws Exception {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (server != null) {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (resolver != null) {
            NameResolverRegistry.getDefaultRegistry().deregister(resolver);
        }
        if (mesh != null) {
            mesh.close();
        }
    }

    /** A gRPC xDS bootstrap for a node, built from its agent's credential files. */
    Map<String, ?> bootstrap(NodeAgent agent, String nodeId) {
        Path d = agent.files().directory();
        Map<String, Object> files = Map.of(
                "certificate_file", d.resolve(CredentialFiles.CERT_CHAIN).toString(),
                "private_key_file", d.resolve(CredentialFiles.KEY).toString(),
                "ca_certificate_file", d.resolve(CredentialFiles.CA_BUNDLE).toString());
        return Map.of(
                "xds_servers", List.of(Map.of(
                        "server_uri", mesh.target(),
                        "channel_creds", List.of(Map.of("type", AgentFilesXdsCredentialsProvider.NAME,
                                "config", files)),
                        "server_features", List.of("xds_v3"))),
                "node", Map.of("id", nodeId, "cluster", nodeId.replaceAll("-\\d+$", ""),
                        "metadata", Map.of("attestmesh.address", "127.0.0.1")),
                "certificate_providers", Map.of(MeshResourceGenerator.CERTIFICATE_PROVIDER_INSTANCE, Map.of(
                        "plugin_name", "file_watcher",
                        "config", Map.of("certificate_file", files.get("certificate_file"),
                                "private_key_file", files.get("private_key_file"),
                                "ca_certificate_file", files.get("ca_certificate_file"),
                                "refresh_interval", "60s"))),
                "server_listener_resource_name_template", MeshResourceGenerator.GRPC_SERVER_LISTENER_TEMPLATE);
    }

    /** Records the caller's SPIFFE ID from the mTLS session, proving the client presented its certificate. */
    final class PeerRecorder implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                ServerCallHandler<Q, R> next) {
            SSLSession tls = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
            try {
                X509Certificate leaf = (X509Certificate) tls.getPeerCertificates()[0];
                for (List<?> san : leaf.getSubjectAlternativeNames()) {
                    if (((Integer) san.get(0)) == 6) {
                        callerPrincipals.add((String) san.get(1));
                    }
                }
            } catch (Exception e) {
                callerPrincipals.add("no client certificate: " + e);
            }
            return next.startCall(call, headers);
        }
    }

    @Test
    @Order(1)
    void proxylessClientCallsProxylessServerOverMutualTlsAfterAckingEveryType() throws Exception {
        HealthCheckResponse r = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
                .withWaitForReady().check(HealthCheckRequest.getDefaultInstance());
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, r.getStatus());
        assertTrue(callerPrincipals.contains("spiffe://attestmesh.local/node/caller-1"), callerPrincipals.toString());

        Map<String, TypeStatus> caller = waitForSynced("caller-1", List.of(LDS, RDS, CDS, EDS));
        caller.values().forEach(s -> assertEquals(s.sentVersion(), s.ackedVersion()));
        waitForSynced("greeter-1", List.of(LDS));

        // What gRPC accepted is also valid against Envoy's own schema.
        Snapshot s = mesh.cp.xdsCache().getSnapshot("caller-1");
        List<String> violations = new ArrayList<>();
        s.listeners().resources().values().forEach(l -> EnvoyConfigValidator.standard().validate(l)
                .forEach(v -> violations.add(v.toString())));
        s.clusters().resources().values().forEach(c -> EnvoyConfigValidator.standard().validate(c)
                .forEach(v -> violations.add(v.toString())));
        mesh.cp.xdsCache().getSnapshot("greeter-1").listeners().resources().values().forEach(l ->
                EnvoyConfigValidator.standard().validate(l).forEach(v -> violations.add(v.toString())));
        assertEquals(List.of(), violations);
    }

    @Test
    @Order(2)
    void invalidListenerIsNackedAndTheNackDetailIsVisibleInTheSyncState() throws Exception {
        HealthGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS).withWaitForReady()
                .check(HealthCheckRequest.getDefaultInstance());
        waitForSynced("caller-1", List.of(LDS));
        Snapshot good = mesh.cp.xdsCache().getSnapshot("caller-1");
        Listener listener = good.listeners().resources().get("greeter");
        HttpConnectionManager hcm = listener.getApiListener().getApiListener().unpack(HttpConnectionManager.class);
        HttpConnectionManager bad = hcm.toBuilder().addHttpFilters(0, HttpFilter.newBuilder()
                .setName("attestmesh.test.no_such_filter")
                .setTypedConfig(Any.newBuilder().setTypeUrl("type.googleapis.com/attestmesh.test.NoSuchFilter")))
                .build();
        Listener invalid = listener.toBuilder().setApiListener(ApiListener.newBuilder().setApiListener(Any.pack(bad)))
                .build();
        // Injected straight into the cache: the generator never produces this.
        mesh.cp.xdsCache().setSnapshot("caller-1", Snapshot.create(
                good.clusters().resources().values(), good.clusters().version(),
                good.endpoints().resources().values(), good.endpoints().version(),
                List.of(invalid), "invalid-listener",
                good.routes().resources().values(), good.routes().version(),
                good.secrets().resources().values(), good.secrets().version()));

        TypeStatus lds = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline) {
            lds = mesh.cp.xdsSync().statuses("caller-1").get(LDS);
            if (lds != null && lds.state() == SyncState.NACKED) {
                break;
            }
            Thread.sleep(50);
        }
        assertNotNull(lds);
        assertEquals(SyncState.NACKED, lds.state(), "status: " + lds);
        assertEquals("invalid-listener", lds.sentVersion());
        assertTrue(lds.nackDetail().orElseThrow().contains("greeter"), lds.nackDetail().orElseThrow());
        System.out.println("NACK detail seen by the control plane: " + lds.nackDetail().orElseThrow());
        // The client keeps its last good config: the RPC still works.
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, HealthGrpc.newBlockingStub(channel)
                .withDeadlineAfter(10, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance()).getStatus());
    }

    @Test
    @Order(3)
    void callerThatNoLongerSatisfiesTheServersPolicyIsRefusedByRbac() throws Exception {
        HealthGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS).withWaitForReady()
                .check(HealthCheckRequest.getDefaultInstance());
        String before = mesh.cp.xdsCache().getSnapshot("greeter-1").listeners().version();
        // caller-1 satisfies 'default' only; the greeter now requires 'strict' of its callers.
        mesh.cp.mesh().replace(mesh.cp.mesh().current().document().replace("policies: [default]}]",
                "policies: [strict]}]"));
        assertTrue(!before.equals(mesh.cp.xdsCache().getSnapshot("greeter-1").listeners().version()),
                "the greeter's listener changed");
        Status.Code last = Status.Code.OK;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline && last != Status.Code.PERMISSION_DENIED) {
            try {
                HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS).withWaitForReady()
                        .check(HealthCheckRequest.getDefaultInstance());
                last = Status.Code.OK;
                Thread.sleep(100);
            } catch (StatusRuntimeException e) {
                last = e.getStatus().getCode();
            }
        }
        assertEquals(Status.Code.PERMISSION_DENIED, last, "RBAC on the caller's SPIFFE ID refuses it");
    }

    Map<String, TypeStatus> waitForSynced(String node, List<String> types) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        Map<String, TypeStatus> st = Map.of();
        while (System.nanoTime() < deadline) {
            st = mesh.cp.xdsSync().statuses(node);
            Map<String, TypeStatus> now = st;
            if (types.stream().allMatch(t -> now.containsKey(t) && now.get(t).state() == SyncState.SYNCED)) {
                return st;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("node " + node + " did not ACK " + types + " in 15 s: " + st);
    }
}
