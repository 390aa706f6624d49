package dev.attestmesh.authz;

import dev.attestmesh.registry.NodeState;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import com.google.protobuf.util.JsonFormat;
import dev.attestmesh.ca.AttestationBoundIssuer;
import dev.attestmesh.ca.IssuedCertificate;
import dev.attestmesh.ca.MeshCa;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Drives the Authorization service over in-process gRPC, as Envoy would. In-process transports are
 * host-local, so the binding here admits every caller ({@link CheckCallerAuthenticator#hostLocalPlaintext});
 * caller authentication over mutual TLS is {@code CheckCallerAuthenticatorTest}'s.
 */
class AttestationAuthzServiceTest {
    private MeshFixture mesh;
    private AuthzDecider decider;
    private Server server;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws Exception {
        mesh = new MeshFixture();
        decider = new AuthzDecider(mesh.registry, mesh.clock, 10_000);
        String name = InProcessServerBuilder.generateName();
        CheckCallerAuthenticator callers = CheckCallerAuthenticator.hostLocalPlaintext();
        server = InProcessServerBuilder.forName(name).directExecutor().addTransportFilter(callers.transportFilter())
                .addService(new AttestationAuthzService(decider).bind(callers)).build().start();
        channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    }

    @AfterEach
    void stop() {
        channel.shutdownNow();
        server.shutdownNow();
    }

    private CheckResponse check(CheckRequest req, String policyHeader) {
        var stub = AuthorizationGrpc.newBlockingStub(channel);
        if (policyHeader != null) {
            Metadata md = new Metadata();
            md.put(Metadata.Key.of("x-attestmesh-policy-ids", Metadata.ASCII_STRING_MARSHALLER), policyHeader);
            stub = stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
        }
        return stub.check(req);
    }

    private CheckResponse checkCert(IssuedCertificate c, String policyHeader) {
        return check(MeshFixture.network(MeshFixture.envoyEncode(c.leaf()), ""), policyHeader);
    }

    private static void assertDenied(CheckResponse r, String reasonFragment) {
        assertEquals(7, r.getStatus().getCode(), "expected PERMISSION_DENIED, got " + r);
        assertTrue(r.getStatus().getMessage().contains(reasonFragment),
                "reason '" + r.getStatus().getMessage() + "' lacks '" + reasonFragment + "'");
    }

    @Test
    void allowsAttestedPeerSatisfyingHeaderPoliciesWithDynamicMetadata() throws Exception {
        IssuedCertificate c = mesh.attest("node-1", Map.of("default", 1L, "production", 1L));
        CheckResponse r = checkCert(c, "default, production");
        assertEquals(0, r.getStatus().getCode(), r.getStatus().getMessage());
        Struct md = r.getDynamicMetadata();
        assertEquals("node-1", md.getFieldsOrThrow("node_id").getStringValue());
        assertEquals("spiffe://mesh.example/node/node-1", md.getFieldsOrThrow("spiffe_id").getStringValue());
        assertEquals("tdx", md.getFieldsOrThrow("tee").getStringValue());
        assertEquals(MeshFixture.MEASUREMENT, md.getFieldsOrThrow("measurement").getStringValue());
        assertEquals(2, md.getFieldsOrThrow("policy_ids").getListValue().getValuesCount());
        assertTrue(!r.hasOkResponse(), "network checks carry no HTTP response");
    }

    @Test
    void deniesMissingCertificateAndPrincipal() {
        assertDenied(check(MeshFixture.network("", ""), "default"), "no peer certificate");
    }

    @Test
    void deniesGarbledAndNonUrlEncodedPem() throws Exception {
        IssuedCertificate c = mesh.attest("node-1", Map.of("default", 1L));
        String plainPem = dev.attestmesh.ca.Pem.certificates(List.of(c.leaf()));
        assertDenied(check(MeshFixture.network(plainPem, ""), "default"), "not URL-encoded PEM");
        assertDenied(check(MeshFixture.network("%ZZ", ""), "default"), "not URL-encoded PEM");
        assertDenied(check(MeshFixture.network("garbage", ""), "default"), "not valid PEM");
        String enc = MeshFixture.envoyEncode(c.leaf());
        String truncated = enc.substring(0, enc.length() / 2) + "%0A-----END%20CERTIFICATE-----%0A";
        assertDenied(check(MeshFixture.network(truncated, ""), "default"), "not valid PEM");
    }

    @Test
    void deniesCertificateFromAnotherCa() throws Exception {
        mesh.attest("node-1", Map.of("default", 1L));
        MeshCa other = MeshCa.generate(MeshFixture.TD, mesh.clock);
        IssuedCertificate foreign = mesh.issue(new AttestationBoundIssuer(other, mesh.clock), "node-1", Map.of("default", 1L));
        assertDenied(checkCert(foreign, "default"), "not issued by any intermediate in the mesh trust bundle");
    }

    @Test
    void deniesExpiredAndNotYetValidCertificates() throws Exception {
        IssuedCertificate c = mesh.attest("node-1", Map.of("default", 1L));
        mesh.clock.advance(Duration.ofHours(2));
        assertDenied(checkCert(c, "default"), "peer certificate expired at");
        mesh.clock.set(MeshFixture.START.minus(Duration.ofMinutes(5)));
        assertDenied(checkCert(c, "default"), "peer certificate is not valid before");
    }

    @Test
    void deniesClaimsExtensionAlteredAfterSigning() throws Exception {
        IssuedCertificate c = mesh.attest("node-1", Map.of("default", 1L));
        mesh.attest("node-2", Map.of("default", 1L));
        byte[] der = c.leaf().getEncoded();
        String s = new String(der, java.nio.charset.StandardCharsets.ISO_8859_1);
        int at = s.indexOf("node-1", s.indexOf("node/node-1") + 11); // the node id inside the claims extension
        assertTrue(at > 0);
        der[at + 5] = '2'; // claims now say node-2
        var altered = (java.security.cert.X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
                .generateCertificate(new java.io.ByteArrayInputStream(der));
        assertDenied(check(MeshFixture.network(MeshFixture.envoyEncode(altered), ""), "default"), "altered");
    }

    @Test
    void deniesUnknownPolicyAndUnsatisfiedPolicy() throws Exception {
        IssuedCertificate c = mesh.attest("node-1", Map.of("default", 1L));
        assertDenied(checkCert(c, "default,gold"), "unknown policy 'gold'");
        assertDenied(checkCert(c, "production"), "does not satisfy policy 'production'");
    }

    @Test
    void deniesRevokedNodeOnTheVeryNextCheck() throws Exception {
        IssuedCertificate c = mesh.attest("node-1", Map.of("default", 1L));
        assertEquals(0, checkCert(c, "default").getStatus().getCode());
        assertEquals(0, checkCert(c, "default").getStatus().getCode()); // cached
        mesh.registry.revoke("node-1", "operator: compromised host");
        assertDenied(checkCert(c, "default"), "node 'node-1' is REVOKED: operator: compromised host");
    }

    @Test
    void deniesAfterPolicyVersionBump() throws Exception {
        IssuedCertificate c = mesh.attest("node-1", Map.of("default", 1L));
        assertEquals(0, checkCert(c, "default").getStatus().getCode());
        mesh.registry.setPolicyVersion("default", 2);
        assertDenied(checkCert(c, "default"), "version 1 but the current version is 2");
    }

    @Test
    void deniesExpiredEvidence() throws Exception {
        IssuedCertificate c = mesh.attest("node-1", Map.of("default", 1L));
        var r = mesh.registry.byNodeId("node-1").orElseThrow();
        mesh.registry.put(new NodeAuthzRecord(r.nodeId(), r.spiffeId(), r.state(), "", r.tee(), r.measurement(),
                r.satisfiedPolicies(), r.certificateSha256Hex(), mesh.clock.instant().minusSeconds(1), r.registration(),
                r.certificateNotAfter()));
        assertDenied(checkCert(c, "default"), "evidence expired");
    }

    @Test
    void deniesSupersededCertificate() throws Exception {
        IssuedCertificate old = mesh.attest("node-1", Map.of("default", 1L));
        mesh.attest("node-1", Map.of("default", 1L)); // renewal replaces the current certificate set
        assertDenied(checkCert(old, "default"), "not a current certificate");
    }

    @Test
    void deniesWrongPrincipalWhenNoCertificate() throws Exception {
        mesh.attest("node-1", Map.of("default", 1L));
        assertDenied(check(MeshFixture.network("", "spiffe://mesh.example/node/ghost"), "default"),
                "no instance of spiffe://mesh.example/node/ghost holds a current certificate (none is in the registry)");
        CheckResponse ok = check(MeshFixture.network("", "spiffe://mesh.example/node/node-1"), "default");
        assertEquals(0, ok.getStatus().getCode(), ok.getStatus().getMessage());
    }

    @Test
    void deniesCertificateWhoseSpiffeIdDiffersFromRegistry() throws Exception {
        IssuedCertificate c = mesh.attest("node-1", Map.of("default", 1L));
        var r = mesh.registry.byNodeId("node-1").orElseThrow();
        mesh.registry.put(new NodeAuthzRecord(r.nodeId(), "spiffe://mesh.example/ns/shop/sa/web", r.state(), "", r.tee(),
                r.measurement(), r.satisfiedPolicies(), r.certificateSha256Hex(), r.evidenceExpiresAt(), r.registration(),
                r.certificateNotAfter()));
        assertDenied(checkCert(c, "default"), "does not match node 'node-1'");
    }

    @Test
    void repeatedAllowsOfOnePeerGetTheSameResponseEncodedOnce() throws Exception {
        IssuedCertificate c = mesh.attest("node-1", Map.of("default", 1L));
        CheckResponse first = checkCert(c, "default");
        CheckResponse second = checkCert(c, "default");
        assertEquals(0, first.getStatus().getCode(), first.getStatus().getMessage());
        assertEquals(first, second, "the cached decision's stored encoding decodes to the same response");
        assertEquals("node-1", second.getDynamicMetadata().getFieldsOrThrow("node_id").getStringValue());
        CheckResponse http = check(MeshFixture.http(MeshFixture.envoyEncode(c.leaf())), "default");
        assertEquals("x-attestmesh-peer", http.getOkResponse().getHeaders(0).getHeader().getKey(),
                "network and HTTP allows of one decision keep their own responses");
    }

    @Test
    void oversizedRequestIsDeniedWithTheSizeTheTransportReportsOverTcp() throws Exception {
        IssuedCertificate c = mesh.attest("node-1", Map.of("default", 1L));
        CheckRequest small = MeshFixture.http(MeshFixture.envoyEncode(c.leaf()));
        var headers = small.getAttributes().getRequest().getHttp().toBuilder();
        for (int i = 0; i < 300; i++) {
            headers.putHeaders("x-filler-" + i, "f".repeat(1000));
        }
        CheckRequest big = small.toBuilder().setAttributes(small.getAttributes().toBuilder().setRequest(
                small.getAttributes().getRequest().toBuilder().setHttp(headers))).build();
        assertTrue(big.getSerializedSize() > AuthzDecider.MAX_REQUEST_BYTES);
        CheckCallerAuthenticator callers = CheckCallerAuthenticator.hostLocalPlaintext();
        Server tcp = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addTransportFilter(callers.transportFilter())
                .addService(new AttestationAuthzService(decider).bind(callers)).build().start();
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", tcp.getPort()).usePlaintext().build();
        try {
            Metadata md = new Metadata();
            md.put(Metadata.Key.of("x-attestmesh-policy-ids", Metadata.ASCII_STRING_MARSHALLER), "default");
            var stub = AuthorizationGrpc.newBlockingStub(ch).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
            assertEquals(0, stub.check(small).getStatus().getCode(), "the same peer is allowed below the limit");
            assertDenied(stub.check(big), "CheckRequest is " + big.getSerializedSize() + " bytes");
        } finally {
            ch.shutdownNow();
            tcp.shutdownNow();
        }
    }

    /** What a raw unary call got back: its responses and how it closed. */
    private record RawCall<R>(List<R> responses, io.grpc.Status status) {}

    /**
     * Sends {@code requests} on one call of a unary method (the unary rule's attack: none, or more than one), then
     * half-closes, and waits for the call to close.
     */
    private static <Q, R> RawCall<R> rawUnary(io.grpc.Channel ch, io.grpc.MethodDescriptor<Q, R> method,
            List<Q> requests) throws Exception {
        var call = ch.newCall(method, io.grpc.CallOptions.DEFAULT
                .withDeadlineAfter(10, java.util.concurrent.TimeUnit.SECONDS));
        List<R> got = new java.util.concurrent.CopyOnWriteArrayList<>();
        var closed = new java.util.concurrent.CompletableFuture<io.grpc.Status>();
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("x-attestmesh-policy-ids", Metadata.ASCII_STRING_MARSHALLER), "default");
        call.start(new io.grpc.ClientCall.Listener<>() {
            @Override
            public void onMessage(R message) {
                got.add(message);
            }

            @Override
            public void onClose(io.grpc.Status status, Metadata trailers) {
                closed.complete(status);
            }
        }, md);
        call.request(2);
        requests.forEach(call::sendMessage);
        call.halfClose();
        return new RawCall<>(got, closed.get(10, java.util.concurrent.TimeUnit.SECONDS));
    }

    /**
     * Check is served by its own call handler, not gRPC's generated stubs: it must keep the unary rule as the stubs
     * do. Over TCP as Envoy connects, each call is compared with the same call on a stub-served unary method (the
     * health service) on the same server. A second request never reaches the handler: gRPC's server cancels the
     * stream first (the handler's own "Too many requests" close stays as a second line).
     */
    @Test
    void aCheckCallCarriesExactlyOneRequestAsGrpcStubsRequire() throws Exception {
        IssuedCertificate c = mesh.attest("node-1", Map.of("default", 1L));
        CheckRequest allowed = MeshFixture.network(MeshFixture.envoyEncode(c.leaf()), "");
        CheckRequest denied = MeshFixture.network("", "");
        var health = io.grpc.health.v1.HealthCheckRequest.getDefaultInstance();
        CheckCallerAuthenticator callers = CheckCallerAuthenticator.hostLocalPlaintext();
        var serverClosed = new java.util.concurrent.LinkedBlockingQueue<io.grpc.Status>();
        io.grpc.ServerInterceptor recordClose = new io.grpc.ServerInterceptor() {
            @Override
            public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, R> call, Metadata headers,
                    io.grpc.ServerCallHandler<Q, R> next) {
                return next.startCall(new io.grpc.ForwardingServerCall.SimpleForwardingServerCall<>(call) {
                    @Override
                    public void close(io.grpc.Status status, Metadata trailers) {
                        serverClosed.add(status);
                        super.close(status, trailers);
                    }
                }, headers);
            }
        };
        Server tcp = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addTransportFilter(callers.transportFilter())
                .addService(io.grpc.ServerInterceptors.intercept(new AttestationAuthzService(decider).bind(callers),
                        recordClose))
                .addService(io.grpc.ServerInterceptors.intercept(
                        new io.grpc.protobuf.services.HealthStatusManager().getHealthService(), recordClose))
                .build().start();
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", tcp.getPort()).usePlaintext().build();
        try {
            for (int n : new int[] {2, 0, 3}) {
                List<CheckRequest> checks = java.util.stream.Stream.of(denied, allowed, allowed).limit(n).toList();
                RawCall<CheckResponse> check = rawUnary(ch, AuthorizationGrpc.getCheckMethod(), checks);
                RawCall<?> stub = rawUnary(ch, io.grpc.health.v1.HealthGrpc.getCheckMethod(),
                        java.util.Collections.nCopies(n, health));
                assertTrue(!check.status().isOk(), n + " requests: the caller sees the call fail: " + check.status());
                assertEquals(stub.status().getCode(), check.status().getCode(), "as the stubs' callers see " + n);
                assertEquals(List.of(), check.responses(), n + " requests: none is decided or answered");
                assertEquals(List.of(), stub.responses());
                if (n == 0) { // the handler closes the call, as the stubs do
                    io.grpc.Status checkClosed = serverClosed.poll(10, java.util.concurrent.TimeUnit.SECONDS);
                    io.grpc.Status stubClosed = serverClosed.poll(10, java.util.concurrent.TimeUnit.SECONDS);
                    assertEquals(io.grpc.Status.Code.INTERNAL, checkClosed.getCode(), checkClosed.toString());
                    assertEquals("Half-closed without a request", checkClosed.getDescription());
                    assertEquals(stubClosed.getCode(), checkClosed.getCode());
                    assertEquals(stubClosed.getDescription(), checkClosed.getDescription());
                } else { // gRPC's server cancels a unary call's stream at its second message, before any handler
                    assertEquals(List.of(), List.copyOf(serverClosed), n + " requests: no handler answered");
                }
            }
            RawCall<CheckResponse> one = rawUnary(ch, AuthorizationGrpc.getCheckMethod(), List.of(allowed));
            assertEquals(io.grpc.Status.Code.OK, one.status().getCode(), one.status().toString());
            assertEquals(1, one.responses().size());
            assertEquals(0, one.responses().getFirst().getStatus().getCode(), "one request is decided as usual");
            assertEquals(checkCert(c, "default"), one.responses().getFirst(), "the same answer as the stub path");
        } finally {
            ch.shutdownNow();
            tcp.shutdownNow();
        }
    }

    @Test
    void fallsBackToMeshConfigPoliciesWithoutHeader() throws Exception {
        IssuedCertificate c = mesh.attest("node-1", Map.of("default", 1L));
        // The destination node is not in the registry yet: what its port requires is unknown, so deny.
        assertDenied(checkCert(c, null), "destination not synced");
        mesh.attest("server", Map.of("default", 1L));
        assertEquals(0, checkCert(c, null).getStatus().getCode(),
                "known destination, nothing required on its port: an attested caller suffices");
        mesh.registry.requirePolicies("spiffe://mesh.example/node/server", 8443, List.of("production"));
        assertDenied(checkCert(c, null), "does not satisfy policy 'production'");
    }

    @Test
    void deniesADestinationWithoutPrincipalWhenNoPolicyIsNamed() throws Exception {
        IssuedCertificate c = mesh.attest("node-1", Map.of("default", 1L));
        mesh.attest("server", Map.of("default", 1L));
        CheckRequest req = MeshFixture.network(MeshFixture.envoyEncode(c.leaf()), "");
        CheckRequest unnamed = req.toBuilder().setAttributes(req.getAttributes().toBuilder()
                .setDestination(req.getAttributes().getDestination().toBuilder().clearPrincipal())).build();
        assertDenied(check(unnamed, null), "destination unknown: the request names no destination principal");
        assertEquals(0, check(unnamed, "default").getStatus().getCode(), "a named policy needs no destination");
    }

    @Test
    void httpDenialIs403WithJsonBody() throws Exception {
        CheckResponse r = check(MeshFixture.http(""), "default");
        assertEquals(7, r.getStatus().getCode());
        assertEquals(403, r.getDeniedResponse().getStatus().getCodeValue());
        Struct.Builder body = Struct.newBuilder();
        JsonFormat.parser().merge(r.getDeniedResponse().getBody(), body);
        assertTrue(body.getFieldsOrThrow("denied").getBoolValue());
        assertTrue(body.getFieldsOrThrow("reason").getStringValue().contains("no peer certificate"));
    }

    @Test
    void httpAllowCarriesPeerHeader() throws Exception {
        IssuedCertificate c = mesh.attest("node-1", Map.of("default", 1L));
        CheckResponse r = check(MeshFixture.http(MeshFixture.envoyEncode(c.leaf())), "default");
        assertEquals(0, r.getStatus().getCode(), r.getStatus().getMessage());
        HeaderValueOption h = r.getOkResponse().getHeaders(0);
        assertEquals("x-attestmesh-peer", h.getHeader().getKey());
        assertEquals(HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD, h.getAppendAction());
        Struct.Builder peer = Struct.newBuilder();
        JsonFormat.parser().merge(h.getHeader().getValue(), peer);
        assertEquals("node-1", peer.getFieldsOrThrow("node_id").getStringValue());
        assertEquals(Set.of("default"), Set.copyOf(peer.getFieldsOrThrow("policy_ids").getListValue().getValuesList()
                .stream().map(v -> v.getStringValue()).toList()));
    }

    @Test
    void certificateFromRotatedIntermediateIsAcceptedOnlyDuringOverlap() throws Exception {
        IssuedCertificate old = mesh.attest("node-1", Map.of("default", 1L));
        MeshCa rotated = mesh.ca.rotateIntermediate(Duration.ofMinutes(30));
        mesh.registry.setTrustBundle(rotated.trustBundle());
        assertEquals(0, checkCert(old, "default").getStatus().getCode(), "old intermediate still in the bundle");
        IssuedCertificate fresh = mesh.issue(new AttestationBoundIssuer(rotated, mesh.clock), "node-2", Map.of("default", 1L));
        var r = mesh.registry.byNodeId("node-1").orElseThrow();
        mesh.registry.put(new NodeAuthzRecord("node-2", "spiffe://mesh.example/node/node-2", NodeState.ATTESTED, "", r.tee(),
                r.measurement(), Map.of("default", 1L), Set.of(fresh.sha256Hex()), r.evidenceExpiresAt(), r.registration(),
                fresh.notAfter()));
        assertEquals(0, checkCert(fresh, "default").getStatus().getCode());
        mesh.clock.advance(Duration.ofMinutes(31));
        mesh.registry.setTrustBundle(rotated.trustBundle()); // the overlap has ended: old intermediate dropped
        assertDenied(checkCert(old, "default"), "not issued by any intermediate");
        assertEquals(0, checkCert(fresh, "default").getStatus().getCode());
    }

    @Test
    void cacheIsClearedByInvalidateAll() throws Exception {
        IssuedCertificate c = mesh.attest("node-1", Map.of("default", 1L));
        checkCert(c, "default");
        int before = mesh.registry.lookups;
        checkCert(c, "default");
        assertEquals(before, mesh.registry.lookups, "second check served from cache");
        decider.invalidateAll();
        checkCert(c, "default");
        assertTrue(mesh.registry.lookups > before, "after invalidateAll the registry is consulted again");
    }

    // --- What a registry change drops from the decision cache (RegistryChange, ChangeStamps) ---

    @Test
    void anotherNodesChangeKeepsACachedDecisionWhileTheNodesOwnRevocationDeniesItAtOnce() throws Exception {
        IssuedCertificate a = mesh.attest("node-a", Map.of("default", 1L));
        IssuedCertificate b = mesh.attest("node-b", Map.of("default", 1L));
        assertEquals(0, checkCert(a, "default").getStatus().getCode());
        assertEquals(0, checkCert(b, "default").getStatus().getCode());
        int before = mesh.registry.lookups;
        mesh.attest("node-c", Map.of("default", 1L)); // other nodes attest, renew, are revoked
        mesh.registry.revoke("node-c", "operator: decommissioned");
        assertEquals(0, checkCert(a, "default").getStatus().getCode());
        assertEquals(0, checkCert(b, "default").getStatus().getCode());
        assertEquals(before, mesh.registry.lookups, "other nodes' changes left both decisions cached");
        mesh.registry.revoke("node-a", "operator: compromised host");
        assertDenied(checkCert(a, "default"), "node 'node-a' is REVOKED: operator: compromised host");
        assertEquals(before + 1, mesh.registry.lookups, "node-a decided again, from its new record");
        assertEquals(0, checkCert(b, "default").getStatus().getCode());
        assertEquals(before + 1, mesh.registry.lookups, "node-b still cached");
    }

    @Test
    void aCachedDenialOfANodeNotYetInTheRegistryEndsWhenItAttests() throws Exception {
        IssuedCertificate early = mesh.issue(mesh.issuer, "node-late", Map.of("default", 1L));
        assertDenied(checkCert(early, "default"), "node 'node-late' is not in the registry");
        var r = mesh.attest("node-other", Map.of("default", 1L)); // the denial is cached against node-late only
        mesh.registry.put(new NodeAuthzRecord("node-late", "spiffe://mesh.example/node/node-late", NodeState.ATTESTED,
                "", MeshFixture.TEE, MeshFixture.MEASUREMENT, Map.of("default", 1L), Set.of(early.sha256Hex()),
                mesh.clock.instant().plus(java.time.Duration.ofHours(24)), "nodes", early.notAfter()));
        assertEquals(0, checkCert(early, "default").getStatus().getCode(),
                "allowed at once, not after the denial's 5 s (the clock has not moved)");
        assertEquals(0, checkCert(r, "default").getStatus().getCode());
    }

    @Test
    void aNodeThatTakesAnotherNodesCertificateSlotDoesNotInheritItsCachedAllow() throws Exception {
        // The cache key is the certificate field, the record read is the node the certificate names: a record
        // written for another node id never revives or extends a decision about this certificate
        IssuedCertificate a = mesh.attest("node-a", Map.of("default", 1L));
        assertEquals(0, checkCert(a, "default").getStatus().getCode());
        mesh.registry.revoke("node-a", "operator: key leaked");
        var rec = mesh.registry.byNodeId("node-a").orElseThrow();
        // An attacker attests node-x and gets a record listing node-a's certificate hash: node-a's decision reads
        // node-a's record only, so it stays denied
        mesh.registry.put(new NodeAuthzRecord("node-x", rec.spiffeId(), NodeState.ATTESTED, "", rec.tee(),
                rec.measurement(), Map.of("default", 1L), Set.of(a.sha256Hex()), rec.evidenceExpiresAt(),
                rec.registration(), a.notAfter()));
        assertDenied(checkCert(a, "default"), "node 'node-a' is REVOKED");
    }

    @Test
    void aPrincipalsCachedAllowEndsWhenAnyInstanceIsRevokedOrJoinsFailing() throws Exception {
        mesh.attestInstance("pod-a", PAYMENTS, Map.of("default", 1L));
        mesh.attestInstance("pod-b", PAYMENTS, Map.of("default", 1L));
        assertAllowed(checkPrincipal(PAYMENTS.uri(), "default"));
        int before = mesh.registry.lookups;
        mesh.attest("node-elsewhere", Map.of("default", 1L));
        assertAllowed(checkPrincipal(PAYMENTS.uri(), "default"));
        assertEquals(before, mesh.registry.lookups, "a node of another principal left the decision cached");
        mesh.registry.revoke("pod-b", "operator: compromised host");
        assertDenied(checkPrincipal(PAYMENTS.uri(), "default"), "instance 'pod-b' of " + PAYMENTS.uri() + " is REVOKED");
        // A new instance that does not hold the policy joins the principal: the principal is denied at once
        dev.attestmesh.ca.SpiffeId cart = dev.attestmesh.ca.SpiffeId.forWorkload(MeshFixture.TD, "prod", "cart");
        mesh.attestInstance("pod-c", cart, Map.of("default", 1L));
        assertAllowed(checkPrincipal(cart.uri(), "default"));
        mesh.attestInstance("pod-d", cart, Map.of("production", 1L));
        assertDenied(checkPrincipal(cart.uri(), "default"), "instance 'pod-d' of " + cart.uri()
                + " does not satisfy policy 'default'");
        // An instance moving from cart to payments: both principals are decided again
        mesh.attestInstance("pod-d", PAYMENTS, Map.of("default", 1L));
        assertAllowed(checkPrincipal(cart.uri(), "default"));
    }

    @Test
    void perRouteContextExtensionOverridesThePolicyHeader() throws Exception {
        IssuedCertificate c = mesh.attest("node-1", Map.of("default", 1L));
        CheckRequest http = MeshFixture.http(MeshFixture.envoyEncode(c.leaf()));
        CheckRequest strictRoute = http.toBuilder().setAttributes(http.getAttributes().toBuilder()
                .putContextExtensions("x-attestmesh-policy-ids", "default,production")).build();
        assertEquals(0, check(http, "default").getStatus().getCode());
        CheckResponse r = check(strictRoute, "default");
        assertDenied(r, "does not satisfy policy 'production'");
        assertEquals(403, r.getDeniedResponse().getStatus().getCodeValue());
        CheckRequest lenientRoute = http.toBuilder().setAttributes(http.getAttributes().toBuilder()
                .putContextExtensions("x-attestmesh-policy-ids", "default")).build();
        assertEquals(0, check(lenientRoute, "production").getStatus().getCode(), "route setting wins over the header");
    }

    @Test
    void deniesOversizedCertificateFieldAndOversizedRequestWithPreciseReasons() {
        String hugeCert = "A".repeat(AuthzDecider.MAX_CERTIFICATE_CHARS + 1);
        assertDenied(check(MeshFixture.network(hugeCert, ""), "default"),
                "peer certificate field is 65537 bytes, more than the limit of 65536");
        CheckRequest http = MeshFixture.http("");
        CheckRequest bigBody = http.toBuilder().setAttributes(http.getAttributes().toBuilder().setRequest(
                http.getAttributes().getRequest().toBuilder().setHttp(http.getAttributes().getRequest().getHttp()
                        .toBuilder().setBody("x".repeat(300 * 1024))))).build();
        CheckResponse r = check(bigBody, "default");
        assertDenied(r, "more than the limit of 262144");
        assertEquals(403, r.getDeniedResponse().getStatus().getCodeValue());
    }

    @Test
    void deniesEveryCheckWhileTheViewIsUnavailable() throws Exception {
        IssuedCertificate c = mesh.attest("node-1", Map.of("default", 1L));
        assertEquals(0, checkCert(c, "default").getStatus().getCode());
        mesh.registry.unavailable = java.util.Optional.of("registry view is stale: last update 31000 ms ago");
        assertDenied(checkCert(c, "default"), "registry view is stale: last update 31000 ms ago");
        mesh.registry.unavailable = java.util.Optional.empty();
        assertEquals(0, checkCert(c, "default").getStatus().getCode(), "cached allow is usable again once current");
    }

    // --- Decisions by principal (Istio: source.principal, no peer certificate) ---

    private static final dev.attestmesh.ca.SpiffeId PAYMENTS =
            dev.attestmesh.ca.SpiffeId.forWorkload(MeshFixture.TD, "prod", "payments");

    private CheckResponse checkPrincipal(String principal, String policyHeader) {
        return check(MeshFixture.network("", principal), policyHeader);
    }

    private static void assertAllowed(CheckResponse r) {
        assertEquals(0, r.getStatus().getCode(), "expected OK, got: " + r.getStatus().getMessage());
    }

    @Test
    void allowsPrincipalWhoseEveryLiveInstancePassesWithPrincipalMetadata() throws Exception {
        mesh.attestInstance("pod-a", PAYMENTS, Map.of("default", 1L, "production", 1L));
        mesh.attestInstance("pod-b", PAYMENTS, Map.of("default", 1L));
        CheckResponse r = checkPrincipal(PAYMENTS.uri(), "default");
        assertAllowed(r);
        Struct md = r.getDynamicMetadata();
        assertEquals(PAYMENTS.uri(), md.getFieldsOrThrow("spiffe_id").getStringValue());
        assertEquals(2, (int) md.getFieldsOrThrow("instances").getNumberValue());
        assertEquals("tdx", md.getFieldsOrThrow("tee").getStringValue());
        assertEquals(MeshFixture.MEASUREMENT, md.getFieldsOrThrow("measurement").getStringValue());
        assertEquals(List.of("default"), md.getFieldsOrThrow("policy_ids").getListValue().getValuesList().stream()
                .map(v -> v.getStringValue()).toList(), "only the policies common to every instance");
        assertTrue(!md.containsFields("node_id"), "no single node was admitted: " + md);
    }

    @Test
    void principalMetadataSaysMixedWhenInstancesDifferInMeasurement() throws Exception {
        mesh.attestInstance("pod-a", PAYMENTS, Map.of("default", 1L));
        IssuedCertificate b = mesh.attestInstance("pod-b", PAYMENTS, Map.of("default", 1L));
        var r = mesh.registry.byNodeId("pod-b").orElseThrow();
        mesh.registry.put(new NodeAuthzRecord(r.nodeId(), r.spiffeId(), r.state(), "", r.tee(), "bb".repeat(48),
                r.satisfiedPolicies(), r.certificateSha256Hex(), r.evidenceExpiresAt(), r.registration(), b.notAfter()));
        CheckResponse resp = checkPrincipal(PAYMENTS.uri(), "default");
        assertAllowed(resp);
        assertEquals(AttestationAuthzService.MIXED, resp.getDynamicMetadata().getFieldsOrThrow("measurement").getStringValue());
        assertEquals("tdx", resp.getDynamicMetadata().getFieldsOrThrow("tee").getStringValue());
    }

    @Test
    void deniesPrincipalWhenAnyLiveInstanceIsRevoked() throws Exception {
        mesh.attestInstance("pod-a", PAYMENTS, Map.of("default", 1L));
        IssuedCertificate sibling = mesh.attestInstance("pod-b", PAYMENTS, Map.of("default", 1L));
        mesh.registry.revoke("pod-a", "operator: compromised host");
        assertDenied(checkPrincipal(PAYMENTS.uri(), "default"),
                "instance 'pod-a' of spiffe://mesh.example/ns/prod/sa/payments is REVOKED: operator: compromised host");
        mesh.attestInstance("pod-b", PAYMENTS, Map.of("default", 1L)); // the sibling renews: still denied
        assertDenied(checkPrincipal(PAYMENTS.uri(), "default"), "instance 'pod-a' of " + PAYMENTS.uri() + " is REVOKED");
        assertDenied(checkCert(sibling, "default"), "not a current certificate"); // renewal superseded it
        IssuedCertificate renewed = mesh.issue(mesh.issuer, "pod-b", PAYMENTS, Map.of("default", 1L));
        var r = mesh.registry.byNodeId("pod-b").orElseThrow();
        mesh.registry.put(new NodeAuthzRecord(r.nodeId(), r.spiffeId(), r.state(), "", r.tee(), r.measurement(),
                r.satisfiedPolicies(), Set.of(renewed.sha256Hex()), r.evidenceExpiresAt(), r.registration(),
                renewed.notAfter()));
        assertAllowed(checkCert(renewed, "default")); // per certificate: the sibling's own certificate is allowed
    }

    @Test
    void ignoresInstancesWhoseCertificateExpired() throws Exception {
        mesh.attestInstance("pod-a", PAYMENTS, Map.of("default", 1L));
        mesh.clock.advance(Duration.ofMinutes(50));
        mesh.attestInstance("pod-b", PAYMENTS, Map.of("default", 1L)); // its certificate outlives pod-a's by 50 min
        mesh.registry.revoke("pod-a", "operator: drained");
        assertDenied(checkPrincipal(PAYMENTS.uri(), "default"), "instance 'pod-a'");
        mesh.clock.advance(Duration.ofMinutes(11)); // pod-a's certificate (1 h) has expired, pod-b's has not
        CheckResponse r = checkPrincipal(PAYMENTS.uri(), "default");
        assertAllowed(r);
        assertEquals(1, (int) r.getDynamicMetadata().getFieldsOrThrow("instances").getNumberValue());
    }

    @Test
    void cachedPrincipalAllowEndsWhenTheEarliestInstanceCertificateExpires() throws Exception {
        mesh.attestInstance("pod-a", PAYMENTS, Map.of("default", 1L));
        mesh.clock.advance(Duration.ofMinutes(30));
        mesh.attestInstance("pod-b", PAYMENTS, Map.of("default", 1L));
        assertEquals(2, (int) checkPrincipal(PAYMENTS.uri(), "default").getDynamicMetadata()
                .getFieldsOrThrow("instances").getNumberValue());
        int before = mesh.registry.lookups;
        mesh.clock.advance(Duration.ofMinutes(31)); // pod-a dropped out without any registry change
        CheckResponse r = checkPrincipal(PAYMENTS.uri(), "default");
        assertTrue(mesh.registry.lookups > before, "the cached decision outlived an instance's certificate");
        assertEquals(1, (int) r.getDynamicMetadata().getFieldsOrThrow("instances").getNumberValue());
    }

    @Test
    void deniesPrincipalWhenOneInstanceLacksARequiredPolicy() throws Exception {
        mesh.attestInstance("pod-a", PAYMENTS, Map.of("default", 1L, "production", 1L));
        mesh.attestInstance("pod-b", PAYMENTS, Map.of("default", 1L));
        assertAllowed(checkPrincipal(PAYMENTS.uri(), "default"));
        assertDenied(checkPrincipal(PAYMENTS.uri(), "default,production"),
                "instance 'pod-b' of " + PAYMENTS.uri() + " does not satisfy policy 'production'");
        mesh.registry.setPolicyVersion("default", 2);
        assertDenied(checkPrincipal(PAYMENTS.uri(), "default"), "version 1 but the current version is 2");
        assertDenied(checkPrincipal(PAYMENTS.uri(), "gold"), "unknown policy 'gold'");
    }

    @Test
    void deniesPrincipalWithNoLiveInstance() throws Exception {
        assertDenied(checkPrincipal(PAYMENTS.uri(), "default"),
                "no instance of " + PAYMENTS.uri() + " holds a current certificate (none is in the registry)");
        mesh.attestInstance("pod-a", PAYMENTS, Map.of("default", 1L));
        mesh.attestInstance("pod-b", PAYMENTS, Map.of("default", 1L));
        assertAllowed(checkPrincipal(PAYMENTS.uri(), "default"));
        mesh.clock.advance(Duration.ofMinutes(61)); // both certificates (1 h) expired; attested state is not enough
        assertDenied(checkPrincipal(PAYMENTS.uri(), "default"),
                "no instance of " + PAYMENTS.uri() + " holds a current certificate (2 recorded, every certificate expired)");
    }

    @Test
    void deniesPrincipalWhenALiveInstanceEvidenceExpired() throws Exception {
        mesh.attestInstance("pod-a", PAYMENTS, Map.of("default", 1L));
        mesh.attestInstance("pod-b", PAYMENTS, Map.of("default", 1L));
        var r = mesh.registry.byNodeId("pod-b").orElseThrow();
        mesh.registry.put(new NodeAuthzRecord(r.nodeId(), r.spiffeId(), r.state(), "", r.tee(), r.measurement(),
                r.satisfiedPolicies(), r.certificateSha256Hex(), mesh.clock.instant().minusSeconds(1), r.registration(),
                r.certificateNotAfter()));
        assertDenied(checkPrincipal(PAYMENTS.uri(), "default"), "instance 'pod-b' of " + PAYMENTS.uri()
                + " is no longer fresh: evidence expired");
    }

    @Test
    void revocationOfASiblingInvalidatesTheCachedPrincipalDecision() throws Exception {
        mesh.attestInstance("pod-a", PAYMENTS, Map.of("default", 1L));
        mesh.attestInstance("pod-b", PAYMENTS, Map.of("default", 1L));
        assertAllowed(checkPrincipal(PAYMENTS.uri(), "default"));
        int before = mesh.registry.lookups;
        assertAllowed(checkPrincipal(PAYMENTS.uri(), "default"));
        assertEquals(before, mesh.registry.lookups, "second check served from the decision cache");
        mesh.registry.revoke("pod-b", "operator: quarantine");
        assertDenied(checkPrincipal(PAYMENTS.uri(), "default"),
                "instance 'pod-b' of " + PAYMENTS.uri() + " is REVOKED: operator: quarantine");
    }

    @Test
    void principalWithManyInstancesIsDecidedInOnePass() throws Exception {
        IssuedCertificate c = mesh.attestInstance("pod-0", PAYMENTS, Map.of("default", 1L));
        var template = mesh.registry.byNodeId("pod-0").orElseThrow();
        for (int i = 1; i < 5_000; i++) {
            mesh.registry.put(new NodeAuthzRecord("pod-" + i, PAYMENTS.uri(), template.state(), "", template.tee(),
                    template.measurement(), template.satisfiedPolicies(), Set.of(), template.evidenceExpiresAt(),
                    template.registration(), c.notAfter()));
        }
        int before = mesh.registry.lookups;
        CheckResponse r = checkPrincipal(PAYMENTS.uri(), "default");
        assertAllowed(r);
        assertEquals(5_000, (int) r.getDynamicMetadata().getFieldsOrThrow("instances").getNumberValue());
        assertEquals(before + 1, mesh.registry.lookups, "one instancesOf call, no per-instance registry lookups");
    }
}
