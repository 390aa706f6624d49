package dev.attestmesh.authz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.ca.CsrValidator;
import dev.attestmesh.ca.IssuedCertificate;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.ca.ReservedClientCertificateIssuer;
import dev.attestmesh.ca.ServerCertificateIssuer;
import dev.attestmesh.quote.TeeType;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.Attributes;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.MetadataUtils;
import java.io.ByteArrayInputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * ext_authz Check over real mutual TLS on loopback, as the control plane serves it: only callers with an
 * attested node's current certificate or a listed operator-issued client certificate are answered, and
 * nobody else learns anything about the registry.
 */
class CheckCallerAuthenticatorTest {
    static final String ADMIN_GATEWAY = "spiffe://" + MeshFixture.TD + "/attestmesh/admin/gateway";

    final MeshFixture mesh = new MeshFixture(Instant.now());
    final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    /** The control plane's arrangement: TLS with optional client certificates, Check behind the authenticator. */
    Server tlsServer(Set<String> clientIdentities, boolean allowInsecure) throws Exception {
        KeyPair kp = p256();
        List<X509Certificate> chain = ServerCertificateIssuer.issue(mesh.ca, MeshFixture.TD, kp.getPublic(),
                List.of("localhost"), Duration.ofHours(1), mesh.clock);
        AuthzDecider decider = new AuthzDecider(mesh.registry, mesh.clock,
                new AuthzDecider.Settings(1_000, allowInsecure));
        CheckCallerAuthenticator callers = CheckCallerAuthenticator.mutualTls(mesh.registry, mesh.clock,
                clientIdentities, allowInsecure);
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0),
                        TlsServerCredentials.newBuilder().keyManager(pem(chain), pem(kp.getPrivate()))
                                .trustManager(pem(mesh.ca.trustBundle()))
                                .clientAuth(TlsServerCredentials.ClientAuth.OPTIONAL).build())
                .addTransportFilter(callers.transportFilter())
                .addService(new AttestationAuthzService(decider).bind(callers))
                .build().start();
        open.add(() -> server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
        return server;
    }

    AuthorizationGrpc.AuthorizationBlockingStub client(Server server, List<X509Certificate> chain, PrivateKey key)
            throws Exception {
        TlsChannelCredentials.Builder creds = TlsChannelCredentials.newBuilder().trustManager(pem(mesh.ca.trustBundle()));
        if (chain != null) {
            creds.keyManager(pem(chain), pem(key));
        }
        return stub(server, creds.build());
    }

    AuthorizationGrpc.AuthorizationBlockingStub stub(Server server, ChannelCredentials creds) {
        ManagedChannel ch = Grpc.newChannelBuilderForAddress("localhost", server.getPort(), creds).build();
        open.add(ch::shutdownNow);
        Metadata md = new Metadata();
        md.put(Metadata.Key.of(AttestationAuthzService.POLICY_HEADER, Metadata.ASCII_STRING_MARSHALLER), "default");
        return AuthorizationGrpc.newBlockingStub(ch).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md))
                .withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    AuthorizationGrpc.AuthorizationBlockingStub nodeClient(Server server, MeshFixture.Credentials c) throws Exception {
        return client(server, c.certificate().chain(), c.key());
    }

    static CheckRequest aboutCertificate(IssuedCertificate peer) {
        return MeshFixture.network(MeshFixture.envoyEncode(peer.leaf()), "");
    }

    /** The refusal carries the fixed message only: no node id, SPIFFE ID, state or revocation reason. */
    static void assertRefusedSayingNothing(StatusRuntimeException e, Status.Code code, String... secrets) {
        assertEquals(code, e.getStatus().getCode(), e.toString());
        String text = e.getStatus().getDescription() + " " + e.getTrailers();
        for (String s : secrets) {
            assertFalse(text.contains(s), "the refusal reveals '" + s + "': " + text);
        }
        assertFalse(text.toLowerCase(java.util.Locale.ROOT).contains("registry"), text);
        assertFalse(text.contains("REVOKED"), text);
    }

    @Test
    void refusesACallerWithoutClientCertificateWithNothingAboutTheRegistry() throws Exception {
        Server server = tlsServer(Set.of(), false);
        MeshFixture.Credentials envoy = mesh.attestWithKey("envoy-1", Map.of("default", 1L), TeeType.TDX);
        IssuedCertificate revoked = mesh.attest("victim", Map.of("default", 1L));
        mesh.registry.revoke("victim", "operator: secret incident 4711");
        CheckRequest req = aboutCertificate(revoked);
        // An authenticated Envoy learns why: that is what denial reasons are for
        CheckResponse answered = nodeClient(server, envoy).check(req);
        assertEquals(7, answered.getStatus().getCode());
        assertTrue(answered.getStatus().getMessage().contains("REVOKED: operator: secret incident 4711"),
                answered.getStatus().getMessage());
        // Without a client certificate: UNAUTHENTICATED, and not a word about the node
        StatusRuntimeException anonymous = assertThrows(StatusRuntimeException.class,
                () -> client(server, null, null).check(req));
        assertRefusedSayingNothing(anonymous, Status.Code.UNAUTHENTICATED, "victim", "4711", "spiffe://");
        assertEquals("ext_authz Check requires mutual TLS with a mesh client certificate",
                anonymous.getStatus().getDescription());
        // Nor an allow of a healthy node: no OK and no dynamic metadata for the anonymous
        StatusRuntimeException anonymousAboutHealthy = assertThrows(StatusRuntimeException.class,
                () -> client(server, null, null).check(aboutCertificate(envoy.certificate())));
        assertRefusedSayingNothing(anonymousAboutHealthy, Status.Code.UNAUTHENTICATED, "envoy-1", MeshFixture.MEASUREMENT);
    }

    @Test
    void refusesACallerWithoutTlsAtAll() throws Exception {
        // The mutual-TLS authenticator on a plaintext server (a misconfiguration) answers nobody
        CheckCallerAuthenticator callers = CheckCallerAuthenticator.mutualTls(mesh.registry, mesh.clock, Set.of(), false);
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addTransportFilter(callers.transportFilter())
                .addService(new AttestationAuthzService(new AuthzDecider(mesh.registry, mesh.clock, 100)).bind(callers))
                .build().start();
        open.add(() -> server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
        IssuedCertificate c = mesh.attest("node-1", Map.of("default", 1L));
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> stub(server, InsecureChannelCredentials.create()).check(aboutCertificate(c)));
        assertRefusedSayingNothing(e, Status.Code.UNAUTHENTICATED, "node-1");
    }

    @Test
    void refusesACallerPresentingTheCertificateOfARevokedNodeFromItsNextCheck() throws Exception {
        Server server = tlsServer(Set.of(), false);
        MeshFixture.Credentials envoy = mesh.attestWithKey("envoy-1", Map.of("default", 1L), TeeType.TDX);
        IssuedCertificate peer = mesh.attest("peer-1", Map.of("default", 1L));
        var stub = nodeClient(server, envoy);
        assertEquals(0, stub.check(aboutCertificate(peer)).getStatus().getCode(), "an attested Envoy is answered");
        mesh.registry.revoke("envoy-1", "operator: envoy host compromised");
        // Same connection: the registry change makes the connection's verdict be taken again
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> stub.check(aboutCertificate(peer)));
        assertRefusedSayingNothing(e, Status.Code.PERMISSION_DENIED, "envoy-1", "compromised", "peer-1");
        assertEquals("this client certificate may not call ext_authz Check", e.getStatus().getDescription());
        // And a new connection with it
        StatusRuntimeException again = assertThrows(StatusRuntimeException.class,
                () -> nodeClient(server, envoy).check(aboutCertificate(peer)));
        assertEquals(Status.Code.PERMISSION_DENIED, again.getStatus().getCode());
    }

    @Test
    void otherNodesChangesDoNotMakeAConnectionsVerdictBeTakenAgain() throws Exception {
        Server server = tlsServer(Set.of(), false);
        MeshFixture.Credentials envoy = mesh.attestWithKey("envoy-1", Map.of("default", 1L), TeeType.TDX);
        IssuedCertificate peer = mesh.attest("peer-1", Map.of("default", 1L));
        var stub = nodeClient(server, envoy);
        assertEquals(0, stub.check(aboutCertificate(peer)).getStatus().getCode());
        // A decision is reused from the millisecond after the one it was made in (this fixture's clock is Instant.now())
        mesh.clock.advance(Duration.ofMillis(1));
        int before = mesh.registry.nodeLookups; // Checks without a policy header ask instancesOf every time
        for (int i = 0; i < 5; i++) {
            mesh.attest("other-" + i, Map.of("default", 1L)); // other nodes attest while the connection is open
            assertEquals(0, stub.check(aboutCertificate(peer)).getStatus().getCode());
        }
        assertEquals(before, mesh.registry.nodeLookups, "neither the caller's verdict nor the peer's decision was re-made");
        mesh.registry.revoke("peer-1", "operator: compromised");
        assertEquals(7, stub.check(aboutCertificate(peer)).getStatus().getCode(), "the peer's own change is seen at once");
        assertEquals(before + 1, mesh.registry.nodeLookups, "only the peer was looked up again, not the caller");
    }

    @Test
    void refusesACallerWhoseCertificateWasSuperseded() throws Exception {
        Server server = tlsServer(Set.of(), false);
        MeshFixture.Credentials old = mesh.attestWithKey("envoy-1", Map.of("default", 1L), TeeType.TDX);
        MeshFixture.Credentials renewed = mesh.attestWithKey("envoy-1", Map.of("default", 1L), TeeType.TDX);
        IssuedCertificate peer = mesh.attest("peer-1", Map.of("default", 1L));
        assertEquals(Status.Code.PERMISSION_DENIED, assertThrows(StatusRuntimeException.class,
                () -> nodeClient(server, old).check(aboutCertificate(peer))).getStatus().getCode());
        assertEquals(0, nodeClient(server, renewed).check(aboutCertificate(peer)).getStatus().getCode());
    }

    @Test
    void acceptsAConfiguredClientIdentityAndRefusesAnUnlistedOne() throws Exception {
        Server server = tlsServer(Set.of(ADMIN_GATEWAY), false);
        IssuedCertificate peer = mesh.attest("peer-1", Map.of("default", 1L));
        KeyPair listedKey = p256();
        IssuedCertificate listed = reservedClient(ReservedClientCertificateIssuer.Kind.ADMIN, "gateway", listedKey);
        CheckResponse r = client(server, listed.chain(), listedKey.getPrivate()).check(aboutCertificate(peer));
        assertEquals(0, r.getStatus().getCode(), r.getStatus().getMessage());
        assertEquals("peer-1", r.getDynamicMetadata().getFieldsOrThrow("node_id").getStringValue());

        KeyPair otherKey = p256();
        IssuedCertificate unlisted = reservedClient(ReservedClientCertificateIssuer.Kind.REPLICA, "authz-9", otherKey);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> client(server, unlisted.chain(), otherKey.getPrivate()).check(aboutCertificate(peer)));
        assertRefusedSayingNothing(e, Status.Code.PERMISSION_DENIED, "peer-1", MeshFixture.MEASUREMENT);
    }

    @Test
    void refusesASimulatedTeeCallerUnlessInsecureEvidenceIsAllowed() throws Exception {
        MeshFixture.Credentials simulated = mesh.attestWithKey("sim-envoy", Map.of("default", 1L), TeeType.SIM);
        IssuedCertificate peer = mesh.attest("peer-1", Map.of("default", 1L));
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> nodeClient(tlsServer(Set.of(), false), simulated).check(aboutCertificate(peer)));
        assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
        CheckResponse dev = nodeClient(tlsServer(Set.of(), true), simulated).check(aboutCertificate(peer));
        assertEquals(0, dev.getStatus().getCode(), dev.getStatus().getMessage());
    }

    @Test
    void plaintextAnswersOnlyCallersOnThisHost() {
        CheckCallerAuthenticator callers = CheckCallerAuthenticator.hostLocalPlaintext();
        assertEquals(null, judge(callers, new InetSocketAddress("127.0.0.1", 40000)));
        assertEquals(null, judge(callers, new InetSocketAddress("::1", 40000)));
        assertEquals(null, judge(callers, new io.grpc.inprocess.InProcessSocketAddress("in-process")));
        Status remote = judge(callers, new InetSocketAddress("10.1.2.3", 40000));
        assertEquals(Status.Code.PERMISSION_DENIED, remote.getCode());
        assertEquals(Status.Code.PERMISSION_DENIED, judge(callers, null).getCode());
    }

    @Test
    void clientIdentitiesMustBeReservedSpiffeIds() {
        assertEquals(Set.of(ADMIN_GATEWAY), CheckCallerAuthenticator.parseClientIdentities(" " + ADMIN_GATEWAY + " ,,"));
        IllegalArgumentException notSpiffe = assertThrows(IllegalArgumentException.class,
                () -> CheckCallerAuthenticator.parseClientIdentities("https://example.com/x"));
        assertTrue(notSpiffe.getMessage().contains("is not a SPIFFE ID"), notSpiffe.getMessage());
        IllegalArgumentException node = assertThrows(IllegalArgumentException.class,
                () -> CheckCallerAuthenticator.parseClientIdentities("spiffe://mesh.example/ns/prod/sa/payments"));
        assertTrue(node.getMessage().contains("is not a reserved identity"), node.getMessage());
    }

    /** The status a call from {@code remote} is closed with, or null when it reaches the service. */
    static Status judge(CheckCallerAuthenticator callers, java.net.SocketAddress remote) {
        AtomicReference<Status> closed = new AtomicReference<>();
        boolean[] started = {false};
        Attributes.Builder attrs = Attributes.newBuilder();
        if (remote != null) {
            attrs.set(Grpc.TRANSPORT_ATTR_REMOTE_ADDR, remote);
        }
        Attributes built = attrs.build();
        ServerCall<CheckRequest, CheckResponse> call = new ServerCall<>() {
            @Override
            public void request(int numMessages) {}

            @Override
            public void sendHeaders(Metadata headers) {}

            @Override
            public void sendMessage(CheckResponse message) {}

            @Override
            public void close(Status status, Metadata trailers) {
                closed.set(status);
            }

            @Override
            public boolean isCancelled() {
                return false;
            }

            @Override
            public Attributes getAttributes() {
                return built;
            }

            @Override
            public MethodDescriptor<CheckRequest, CheckResponse> getMethodDescriptor() {
                return AuthorizationGrpc.getCheckMethod();
            }
        };
        callers.interceptCall(call, new Metadata(), (c, h) -> {
            started[0] = true;
            return new ServerCall.Listener<>() {};
        });
        assertEquals(closed.get() == null, started[0], "a call is either refused or started");
        return closed.get();
    }

    IssuedCertificate reservedClient(ReservedClientCertificateIssuer.Kind kind, String name, KeyPair kp) throws Exception {
        byte[] csr = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + name), kp.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())).getEncoded();
        return ReservedClientCertificateIssuer.issue(mesh.ca, CsrValidator.validate(csr), kind, name, Duration.ofDays(1),
                mesh.clock);
    }

    static KeyPair p256() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    static ByteArrayInputStream pem(List<X509Certificate> certs) {
        return new ByteArrayInputStream(Pem.certificates(certs).getBytes(StandardCharsets.US_ASCII));
    }

    static ByteArrayInputStream pem(PrivateKey key) {
        return new ByteArrayInputStream(Pem.privateKey(key).getBytes(StandardCharsets.US_ASCII));
    }
}
