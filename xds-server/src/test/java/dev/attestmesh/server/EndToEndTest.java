package dev.attestmesh.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.AttestationRefusedException;
import dev.attestmesh.agent.ControlPlaneChannels;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.agent.NodeKeyPair;
import dev.attestmesh.api.v1.AttestRequest;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.ChallengeRequest;
import dev.attestmesh.issuance.ReportDataBinding;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.demo.DemoAuthzClient;
import dev.attestmesh.server.demo.MutualTlsProbe;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The foundation's end-to-end proof, in process on loopback with ephemeral ports: the Micronaut
 * control plane, two simulated-TEE agents, an Envoy-like ADS client over mTLS, a TLS connection between
 * the nodes, ext_authz, a refused node, a replayed nonce, and a revocation.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EndToEndTest {
    static final String GOOD = "a1".repeat(48);
    static final String WRONG = "0b".repeat(48);
    static final String SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

    ControlPlaneFixture fixture;
    ApplicationContext ctx;
    ControlPlane cp;
    String target;
    NodeAgent payments;
    NodeAgent orders;
    AgentCredentials paymentsCreds;
    AgentCredentials ordersCreds;

    @BeforeAll
    void start() throws Exception {
        fixture = ControlPlaneFixture.start(ControlPlaneFixture.simPolicy("default", GOOD), Map.of());
        ctx = fixture.ctx;
        cp = fixture.cp;
        target = fixture.target();
        payments = agent("payments", GOOD);
        orders = agent("orders", GOOD);
        paymentsCreds = payments.attestOnce();
        ordersCreds = orders.attestOnce();
    }

    @AfterAll
    void stop() {
        if (fixture != null) {
            fixture.close();
        }
    }

    NodeAgent agent(String id, String measurement) {
        return fixture.agent(id, measurement);
    }

    @Test
    void agentsWriteKeyChainAndBundleWithTheKeyReadableOnlyByTheOwner() throws Exception {
        Path out = payments.files().directory();
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(out.resolve("key.pem"))));
        String chain = Files.readString(out.resolve("cert-chain.pem"));
        assertEquals(2, chain.split("BEGIN CERTIFICATE").length - 1, "leaf + intermediate");
        assertTrue(Files.readString(out.resolve("ca-bundle.pem")).contains("BEGIN CERTIFICATE"));
        assertEquals("spiffe://attestmesh.local/node/payments", paymentsCreds.claims().getSpiffeId());
        assertTrue(paymentsCreds.claims().getInsecure(), "simulated evidence is marked insecure");
        assertTrue(paymentsCreds.renewAfter().isBefore(paymentsCreds.expiresAt()));
    }

    @Test
    void envoyLikeAdsClientOverMtlsReceivesDefaultAndRootCaSecrets() throws Exception {
        ManagedChannel ch = ControlPlaneChannels.open(target, paymentsCreds.trustBundle(), payments.clientIdentity());
        try {
            DiscoveryResponse resp = firstResponse(ch, "payments", List.of("default", "ROOTCA"));
            List<Secret> secrets = new ArrayList<>();
            for (var any : resp.getResourcesList()) {
                secrets.add(any.unpack(Secret.class));
            }
            Secret def = secrets.stream().filter(s -> s.getName().equals("default")).findFirst().orElseThrow();
            Secret root = secrets.stream().filter(s -> s.getName().equals("ROOTCA")).findFirst().orElseThrow();
            String chainInline = def.getTlsCertificate().getCertificateChain().getInlineString();
            assertEquals(Files.readString(payments.files().directory().resolve("cert-chain.pem")).strip(),
                    chainInline.strip(), "default carries the node's issued chain inline");
            assertEquals("/var/run/attestmesh/key.pem", def.getTlsCertificate().getPrivateKey().getFilename(),
                    "the private key is referenced by file name, never sent");
            assertTrue(root.getValidationContext().getTrustedCa().getInlineString().contains("BEGIN CERTIFICATE"));
        } finally {
            ch.shutdownNow();
        }
    }

    @Test
    void adsStreamWhoseCertificateIsNotCurrentForTheClaimedNodeGetsNothing() throws Exception {
        ManagedChannel ch = ControlPlaneChannels.open(target, paymentsCreds.trustBundle(), payments.clientIdentity());
        try {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> firstResponse(ch, "orders", List.of("default", "ROOTCA")));
            assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
        } finally {
            ch.shutdownNow();
        }
        ManagedChannel anonymous = ControlPlaneChannels.open(target, paymentsCreds.trustBundle(), Optional.empty());
        try {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> firstResponse(anonymous, "payments", List.of("default", "ROOTCA")));
            assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
        } finally {
            anonymous.shutdownNow();
        }
    }

    @Test
    void attestedNodesOpenAMutualTlsConnectionAndExtAuthzAllowsThePeer() throws Exception {
        String reply = MutualTlsProbe.exchange(payments, orders, "ping");
        assertEquals("spiffe://attestmesh.local/node/orders: ping", reply);
        try (DemoAuthzClient authz = new DemoAuthzClient(target, payments)) {
            DemoAuthzClient.Result r = authz.check(ordersCreds.leaf(), paymentsCreds.claims().getSpiffeId(),
                    List.of("default"));
            assertTrue(r.allowed(), r.detail());
            assertTrue(r.detail().contains("node_id=orders"), r.detail());
        }
    }

    @Test
    void embeddedExtAuthzAnswersNobodyWithoutAMeshClientCertificate() throws Exception {
        NodeAgent revokedNode = agent("anon-victim", GOOD);
        AgentCredentials rc = revokedNode.attestOnce();
        assertTrue(cp.registry().revoke("anon-victim", "anonymous test: secret reason"));
        // The port answers the attestation service without a client certificate; ext_authz does not
        ManagedChannel anonymous = ControlPlaneChannels.open(target, paymentsCreds.trustBundle(), Optional.empty());
        try {
            var stub = io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc.newBlockingStub(anonymous)
                    .withDeadlineAfter(10, TimeUnit.SECONDS);
            for (AgentCredentials about : List.of(ordersCreds, rc)) {
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> stub.check(
                        DemoAuthzClient.networkCheck(about.leaf(), paymentsCreds.claims().getSpiffeId())));
                assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
                String said = e.getStatus().getDescription();
                assertEquals("ext_authz Check requires mutual TLS with a mesh client certificate", said);
                assertFalse(said.contains("anon-victim") || said.contains("secret") || said.contains("orders"), said);
            }
        } finally {
            anonymous.shutdownNow();
        }
        // The same question from an attested Envoy gets the reason
        try (DemoAuthzClient authz = new DemoAuthzClient(target, payments)) {
            DemoAuthzClient.Result r = authz.check(rc.leaf(), paymentsCreds.claims().getSpiffeId(), List.of("default"));
            assertFalse(r.allowed());
            assertTrue(r.detail().contains("REVOKED: anonymous test: secret reason"), r.detail());
        }
    }

    @Test
    void nodeWithWrongMeasurementIsRefusedNamingThePolicyAndTheField() {
        // Asking for the identity it wants, the node learns which rule of that registration failed.
        NodeAgent rogue = fixture.agent("rogue", WRONG, Optional.of("spiffe://attestmesh.local/node/rogue"));
        AttestationRefusedException e = assertThrows(AttestationRefusedException.class, rogue::attestOnce);
        assertEquals("PERMISSION_DENIED", e.code());
        assertTrue(e.getMessage().contains("'default'"), e.getMessage());
        assertTrue(e.getMessage().contains("measurement"), e.getMessage());
        assertFalse(Files.exists(rogue.files().directory().resolve("cert-chain.pem")));
        assertTrue(cp.registry().entry("rogue").isEmpty(), "nothing is stored for a refused node");
    }

    @Test
    void reusedNonceIsRejected() throws Exception {
        ManagedChannel ch = ControlPlaneChannels.open(target, paymentsCreds.trustBundle(), Optional.empty());
        try {
            var stub = AttestationServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS);
            byte[] nonce = stub.challenge(ChallengeRequest.newBuilder().setNodeId("replayer").build())
                    .getNonce().toByteArray();
            NodeKeyPair key = NodeKeyPair.generate();
            byte[] evidence = SimulatedTee.withMeasurementHex(GOOD)
                    .collect(ReportDataBinding.expected(nonce, key.subjectPublicKeyInfoDer()));
            AttestRequest req = AttestRequest.newBuilder().setNodeId("replayer").setTee("sim")
                    .setEvidence(ByteString.copyFrom(evidence)).setCsr(ByteString.copyFrom(key.csrDer("replayer")))
                    .setNonce(ByteString.copyFrom(nonce)).build();
            assertTrue(stub.attest(req).getCertChainCount() >= 2, "first use is accepted");
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> stub.attest(req));
            assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().contains("nonce"), e.getStatus().getDescription());
        } finally {
            ch.shutdownNow();
        }
    }

    @Test
    void revokedNodeIsDeniedOnTheVeryNextCheck() throws Exception {
        NodeAgent victim = agent("victim", GOOD);
        AgentCredentials vc = victim.attestOnce();
        try (DemoAuthzClient authz = new DemoAuthzClient(target, payments)) {
            assertTrue(authz.check(vc.leaf(), paymentsCreds.claims().getSpiffeId(), List.of("default")).allowed());
            long t0 = System.nanoTime();
            assertTrue(cp.registry().revoke("victim", "test revocation"));
            DemoAuthzClient.Result r = authz.check(vc.leaf(), paymentsCreds.claims().getSpiffeId(), List.of("default"));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertFalse(r.allowed(), "revoked node must be denied");
            assertTrue(ms < 100, "denied within 100 ms, took " + ms);
            assertEquals(Status.Code.PERMISSION_DENIED.value(), r.code());
        }
        AttestationRefusedException again = assertThrows(AttestationRefusedException.class, victim::attestOnce);
        assertTrue(again.getMessage().contains("revoked"), again.getMessage());
    }

    @Test
    void healthEndpointIsOpen() throws Exception {
        int port = ctx.getBean(EmbeddedServer.class).getPort();
        try (HttpClient c = HttpClient.newHttpClient()) {
            HttpResponse<String> r = c.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            assertTrue(r.body().contains("\"status\":\"UP\""), r.body());
        }
    }

    /** Opens an ADS stream as {@code nodeId}, asks for secrets, returns the first response or its error. */
    static DiscoveryResponse firstResponse(ManagedChannel ch, String nodeId, List<String> names) throws Exception {
        LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
        CompletableFuture<Void> done = new CompletableFuture<>();
        StreamObserver<DiscoveryRequest> requests = AggregatedDiscoveryServiceGrpc.newStub(ch)
                .streamAggregatedResources(new StreamObserver<>() {
                    @Override
                    public void onNext(DiscoveryResponse value) {
                        events.add(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        events.add(t);
                    }

                    @Override
                    public void onCompleted() {
                        done.complete(null);
                    }
                });
        requests.onNext(DiscoveryRequest.newBuilder().setNode(Node.newBuilder().setId(nodeId).setCluster("test"))
                .setTypeUrl(SECRET_TYPE).addAllResourceNames(names).build());
        Object first = events.poll(10, TimeUnit.SECONDS);
        if (first instanceof StatusRuntimeException sre) {
            throw sre;
        }
        if (first instanceof Throwable t) {
            throw new AssertionError(t);
        }
        if (first == null) {
            requests.onCompleted();
            throw new AssertionError("no xDS response within 10 s");
        }
        DiscoveryResponse resp = (DiscoveryResponse) first;
        // ACK, as Envoy does, then close.
        requests.onNext(DiscoveryRequest.newBuilder().setNode(Node.newBuilder().setId(nodeId))
                .setTypeUrl(SECRET_TYPE).addAllResourceNames(names).setVersionInfo(resp.getVersionInfo())
                .setResponseNonce(resp.getNonce()).build());
        requests.onCompleted();
        return resp;
    }
}
