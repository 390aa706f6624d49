package dev.attestmesh.server.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.ControlPlaneChannels;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.MeshPolicyRequirement;
import dev.attestmesh.api.v1.RegistryEvent;
import dev.attestmesh.api.v1.WatchRegistryRequest;
import dev.attestmesh.authz.standalone.StandaloneAuthzServer;
import dev.attestmesh.ca.CsrValidator;
import dev.attestmesh.ca.IssuedCertificate;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.ca.ReservedClientCertificateIssuer;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.ControlPlaneSettings;
import dev.attestmesh.server.EvidenceVerifierSet;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.MetadataUtils;
import io.grpc.util.AdvancedTlsX509TrustManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two standalone ext_authz replicas (operator-issued replica certificates) against one control plane, on loopback: consistency after attest
 * and revoke, fail-closed staleness when the control plane stops, resubscription when it is back, and
 * the mesh config's policy requirements for Checks without a policy header.
 */
class StandaloneAuthzReplicaTest {
    static final String GOOD = "a1".repeat(48);
    /** Satisfies {@code strict} as well as {@code default}; {@link #GOOD} satisfies only {@code default}. */
    static final String STRONG = "b2".repeat(48);
    static final String TD = "attestmesh.local";
    static final Duration STALENESS = Duration.ofSeconds(2);

    Path dir;
    ControlPlane cp;
    int cpPort;
    final List<AutoCloseable> closeables = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        dir = Files.createTempDirectory("attestmesh-replicas");
        Files.writeString(dir.resolve("policies.yaml"), """
                policies:
                  - id: default
                    tee: [sim]
                    reference:
                      sim:
                        measurement: ["%1$s", "%2$s"]
                  - id: strict
                    tee: [sim]
                    reference:
                      sim:
                        measurement: ["%2$s"]
                """.formatted(GOOD, STRONG));
        cp = startControlPlane(0);
        cpPort = cp.grpcPort();
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
        if (cp != null) {
            cp.close();
        }
        try (var s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    ControlPlane startControlPlane(int port) throws Exception {
        ControlPlaneSettings base = ControlPlaneSettings.forTests(dir.resolve("cp"), Optional.of(dir.resolve("policies.yaml"))).withRegistrationFile(Optional.of(dev.attestmesh.server.testing.TestMesh.writeRegistrations(dir)));
        ControlPlaneSettings s = new ControlPlaneSettings(base.dataDir(), base.grpcBind(), port, base.policyFile(),
                base.trustDomain(), base.caKey(), base.serverNames(), base.nodeKeyFile(), base.nonceTtl()).withRegistrationFile(base.registrationFile())
                .withDevMode(true); // the nodes here run on the simulated TEE
        return ControlPlane.start(s, Clock.systemUTC(), EvidenceVerifierSet.defaults(), new RegistryWatchSettings(
                Set.of(replicaSpiffe("authz-1"), replicaSpiffe("authz-2")), Duration.ofMillis(200)));
    }

    static String replicaSpiffe(String name) {
        return "spiffe://" + TD + "/attestmesh/replica/" + name;
    }

    /** An operator-issued replica certificate, written as attestmesh ca issue-client writes it. */
    record ReplicaFiles(Path directory, ControlPlaneChannels.ClientIdentity identity) {}

    /** Issues a replica certificate for {@code name} straight from the mesh CA, as the admin endpoint does. */
    ReplicaFiles issueReplica(String name) throws Exception {
        return issueReplica(name, Duration.ofDays(1));
    }

    ReplicaFiles issueReplica(String name, Duration ttl) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair kp = g.generateKeyPair();
        byte[] csr = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + name), kp.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())).getEncoded();
        IssuedCertificate issued = ReservedClientCertificateIssuer.issue(cp.meshCa(), CsrValidator.validate(csr),
                ReservedClientCertificateIssuer.Kind.REPLICA, name, ttl, Clock.systemUTC());
        Path out = Files.createDirectories(dir.resolve("replicas").resolve(name));
        Files.writeString(out.resolve("key.pem"), Pem.privateKey(kp.getPrivate()));
        Files.writeString(out.resolve("cert-chain.pem"), Pem.certificates(issued.chain()));
        return new ReplicaFiles(out, new ControlPlaneChannels.ClientIdentity(kp.getPrivate(), issued.chain()));
    }

    static String spiffe(String node) {
        return "spiffe://" + TD + "/node/" + node;
    }

    NodeAgent agent(String id) throws Exception {
        return agent(id, GOOD);
    }

    NodeAgent agent(String id, String measurement) throws Exception {
        List<X509Certificate> bundle = Pem.parseCertificates(Files.readString(cp.caBundleFile()));
        return new NodeAgent(new NodeAgent.Settings(id, "127.0.0.1:" + cpPort, bundle, dir.resolve("nodes").resolve(id),
                Optional.empty(), Optional.empty()), SimulatedTee.withMeasurementHex(measurement), Clock.systemUTC());
    }

    /**
     * Starts a replica watching with an operator-issued replica certificate; over TLS it serves Check with the
     * certificate of a node attested as {@code id} (the replica's TEE), since the replica certificate is clientAuth only.
     */
    StandaloneAuthzServer replica(String id, boolean plaintext) throws Exception {
        return replica(id, plaintext, true);
    }

    StandaloneAuthzServer replica(String id, boolean plaintext, boolean requireClientCertificate) throws Exception {
        ReplicaFiles watch = issueReplica(id);
        Optional<StandaloneAuthzServer.ServingIdentity> serving = Optional.empty();
        if (!plaintext) {
            NodeAgent a = agent(id);
            a.attestOnce();
            Path node = a.files().directory();
            serving = Optional.of(new StandaloneAuthzServer.ServingIdentity(node.resolve("cert-chain.pem"),
                    node.resolve("key.pem")));
        }
        StandaloneAuthzServer r = StandaloneAuthzServer.start(new StandaloneAuthzServer.Settings("127.0.0.1:" + cpPort,
                cp.caBundleFile(), watch.directory().resolve("cert-chain.pem"), watch.directory().resolve("key.pem"),
                serving, "127.0.0.1", 0, plaintext, requireClientCertificate, STALENESS, id, 10_000)
                .withAllowInsecure(true)); // simulated TEE
        closeables.add(r);
        assertTrue(r.view().awaitFirstSnapshot(Duration.ofSeconds(10)), "replica " + id + " got no snapshot");
        return r;
    }

    AuthorizationGrpc.AuthorizationBlockingStub plaintextClient(StandaloneAuthzServer r) {
        return withPolicyHeader(plaintextClientWithoutHeader(r));
    }

    /** As Istio's generated filter calls ext_authz: no policy header, so the mesh config decides. */
    AuthorizationGrpc.AuthorizationBlockingStub plaintextClientWithoutHeader(StandaloneAuthzServer r) {
        ManagedChannel ch = Grpc.newChannelBuilder("127.0.0.1:" + r.port(), InsecureChannelCredentials.create()).build();
        closeables.add(ch::shutdownNow);
        return AuthorizationGrpc.newBlockingStub(ch);
    }

    /** A TLS client presenting {@code clientNode}'s mesh certificate; the replica's certificate has no DNS name, so only its chain is checked. */
    AuthorizationGrpc.AuthorizationBlockingStub tlsClient(StandaloneAuthzServer r, String clientNode) throws Exception {
        AdvancedTlsX509TrustManager tm = AdvancedTlsX509TrustManager.newBuilder()
                .setVerification(AdvancedTlsX509TrustManager.Verification.CERTIFICATE_ONLY_VERIFICATION).build();
        tm.updateTrustCredentials(Pem.parseCertificates(Files.readString(cp.caBundleFile())).toArray(X509Certificate[]::new));
        Path out = dir.resolve("nodes").resolve(clientNode);
        ManagedChannel ch = Grpc.newChannelBuilder("127.0.0.1:" + r.port(), TlsChannelCredentials.newBuilder()
                .keyManager(out.resolve("cert-chain.pem").toFile(), out.resolve("key.pem").toFile()).trustManager(tm).build())
                .build();
        closeables.add(ch::shutdownNow);
        return withPolicyHeader(AuthorizationGrpc.newBlockingStub(ch));
    }

    static AuthorizationGrpc.AuthorizationBlockingStub withPolicyHeader(AuthorizationGrpc.AuthorizationBlockingStub s) {
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("x-attestmesh-policy-ids", Metadata.ASCII_STRING_MARSHALLER), "default");
        return s.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
    }

    static CheckRequest byCertificate(X509Certificate leaf) {
        StringBuilder sb = new StringBuilder();
        for (char c : Pem.certificates(List.of(leaf)).toCharArray()) {
            if (Character.isLetterOrDigit(c) && c < 0x80 || "*-._".indexOf(c) >= 0) {
                sb.append(c);
            } else {
                sb.append('%').append(String.format("%02X", (int) c));
            }
        }
        return CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
                .setSource(AttributeContext.Peer.newBuilder().setCertificate(sb.toString()))).build();
    }

    static CheckRequest byPrincipal(String principal) {
        return CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
                .setSource(AttributeContext.Peer.newBuilder().setPrincipal(principal))).build();
    }

    /** A Check from {@code source} to {@code destination} on {@code port}, identified by principals (the Istio case). */
    static CheckRequest toDestination(String source, String destination, int port) {
        return CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
                .setSource(AttributeContext.Peer.newBuilder().setPrincipal(source))
                .setDestination(AttributeContext.Peer.newBuilder().setPrincipal(destination)
                        .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
                                .setAddress("127.0.0.1").setPortValue(port))))).build();
    }

    /** Polls until every stub's response satisfies {@code ok}; returns the elapsed milliseconds. */
    static long within(Duration limit, List<AuthorizationGrpc.AuthorizationBlockingStub> stubs, CheckRequest req,
            Predicate<CheckResponse> ok) throws InterruptedException {
        long start = System.nanoTime();
        long deadline = start + limit.toNanos();
        List<CheckResponse> last = new ArrayList<>();
        while (System.nanoTime() < deadline) {
            last.clear();
            for (var s : stubs) {
                last.add(s.check(req));
            }
            if (last.stream().allMatch(ok)) {
                return (System.nanoTime() - start) / 1_000_000;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("not all replicas reached the expected decision within " + limit + ": " + last);
    }

    static boolean allowed(CheckResponse r) {
        return r.getStatus().getCode() == 0;
    }

    @Test
    void twoReplicasAllowAnAttestedNodeAndBothDenyItWithinOneSecondOfRevocation() throws Exception {
        StandaloneAuthzServer r1 = replica("authz-1", false);
        StandaloneAuthzServer r2 = replica("authz-2", true);
        var stubs = List.of(tlsClient(r1, "authz-1"), plaintextClient(r2));
        NodeAgent payments = agent("payments");
        AgentCredentials creds = payments.attestOnce();
        within(Duration.ofSeconds(1), stubs, byCertificate(creds.leaf()), StandaloneAuthzReplicaTest::allowed);
        within(Duration.ofSeconds(1), stubs, byPrincipal(spiffe("payments")), StandaloneAuthzReplicaTest::allowed);
        CheckResponse ok = stubs.get(0).check(byCertificate(creds.leaf()));
        assertEquals("payments", ok.getDynamicMetadata().getFieldsOrThrow("node_id").getStringValue());

        assertTrue(cp.registry().revoke("payments", "test: compromised"));
        long ms = within(Duration.ofSeconds(1), stubs, byCertificate(creds.leaf()),
                r -> !allowed(r) && r.getStatus().getMessage().contains("REVOKED: test: compromised"));
        within(Duration.ofSeconds(1), stubs, byPrincipal(spiffe("payments")), r -> !allowed(r));
        assertTrue(ms < 1000, "revocation reached both replicas in " + ms + " ms");
        assertEquals(r1.view().revision(), r2.view().revision(), "both replicas at the same revision");
    }

    @Test
    void aReplicaSubscribingAfterChangesMadeWhileNobodyWatchedSeesThem() throws Exception {
        // The watch service follows registry changes only while someone watches; a later subscriber must
        // still start from the current registry, not from the state the previous watcher last saw.
        StandaloneAuthzServer first = replica("authz-1", true);
        var firstStub = plaintextClient(first);
        within(Duration.ofSeconds(5), List.of(firstStub), byPrincipal(spiffe("payments")), r -> !allowed(r));
        first.close();
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (cp.registryWatch().activeStreams() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(0, cp.registryWatch().activeStreams(), "the first replica's watch ended");
        AgentCredentials creds = agent("payments").attestOnce();

        StandaloneAuthzServer second = replica("authz-2", true);
        within(Duration.ofSeconds(2), List.of(plaintextClient(second)), byCertificate(creds.leaf()),
                StandaloneAuthzReplicaTest::allowed);
    }

    @Test
    void keepsServingUntilStalenessThenFailsClosedAndRecoversAfterRestart() throws Exception {
        StandaloneAuthzServer r1 = replica("authz-1", true);
        var stubs = List.of(plaintextClient(r1));
        NodeAgent orders = agent("orders");
        AgentCredentials creds = orders.attestOnce();
        CheckRequest req = byCertificate(creds.leaf());
        within(Duration.ofSeconds(1), stubs, req, StandaloneAuthzReplicaTest::allowed);
        // The standard gRPC health service follows the view: Envoy's health checks steer away from a stale replica.
        awaitHealth(r1, ServingStatus.SERVING, Duration.ofSeconds(3));

        cp.close();
        cp = null;
        long stopped = System.nanoTime();
        assertTrue(allowed(stubs.get(0).check(req)), "the last view still serves right after the control plane stops");
        long ms = within(STALENESS.plusSeconds(2), stubs, req,
                r -> !allowed(r) && r.getStatus().getMessage().startsWith("registry view is stale: last update"));
        long sinceStop = (System.nanoTime() - stopped) / 1_000_000;
        assertTrue(sinceStop >= STALENESS.toMillis() - 300, "denied only after the staleness limit, at " + sinceStop + " ms");
        awaitHealth(r1, ServingStatus.NOT_SERVING, Duration.ofSeconds(3));

        cp = startControlPlane(cpPort); // same data dir and port: the registry and CA come back from the store
        within(Duration.ofSeconds(15), stubs, req, StandaloneAuthzReplicaTest::allowed);
        assertFalse(r1.view().unavailableReason().isPresent());
        awaitHealth(r1, ServingStatus.SERVING, Duration.ofSeconds(3));
        assertTrue(ms >= 0);

        HealthGrpc.HealthBlockingStub health = healthClient(r1);
        r1.close(); // from shutdown on: NOT_SERVING, or the port is gone
        try {
            assertEquals(ServingStatus.NOT_SERVING, health.check(HealthCheckRequest.getDefaultInstance()).getStatus());
        } catch (io.grpc.StatusRuntimeException e) {
            assertEquals(io.grpc.Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
        }
    }

    /**
     * The health service is the one method a caller without a client certificate reaches: it learns the serving
     * status and nothing else, and Check on the same connection is still refused.
     */
    @Test
    void aCallerWithoutCertificateLearnsOnlyTheServingStatusAndIsRefusedCheck() throws Exception {
        StandaloneAuthzServer r = replica("authz-1", false, false); // TLS, --client-auth optional
        AgentCredentials peer = agent("orders").attestOnce();
        AdvancedTlsX509TrustManager tm = AdvancedTlsX509TrustManager.newBuilder()
                .setVerification(AdvancedTlsX509TrustManager.Verification.CERTIFICATE_ONLY_VERIFICATION).build();
        tm.updateTrustCredentials(Pem.parseCertificates(Files.readString(cp.caBundleFile())).toArray(X509Certificate[]::new));
        ManagedChannel anonymous = Grpc.newChannelBuilder("127.0.0.1:" + r.port(),
                TlsChannelCredentials.newBuilder().trustManager(tm).build()).build();
        closeables.add(anonymous::shutdownNow);
        var health = HealthGrpc.newBlockingStub(anonymous).withDeadlineAfter(5, TimeUnit.SECONDS)
                .check(HealthCheckRequest.newBuilder().setService(StandaloneAuthzServer.AUTHORIZATION_SERVICE).build());
        assertEquals(io.grpc.health.v1.HealthCheckResponse.newBuilder().setStatus(ServingStatus.SERVING).build(), health,
                "the status and nothing else");
        StatusRuntimeException check = assertThrows(StatusRuntimeException.class, () -> withPolicyHeader(
                AuthorizationGrpc.newBlockingStub(anonymous)).check(byCertificate(peer.leaf())));
        assertEquals(Status.Code.UNAUTHENTICATED, check.getStatus().getCode(), check.getStatus().toString());
        StatusRuntimeException unknown = assertThrows(StatusRuntimeException.class, () -> HealthGrpc
                .newBlockingStub(anonymous).withDeadlineAfter(5, TimeUnit.SECONDS)
                .check(HealthCheckRequest.newBuilder().setService("x".repeat(200)).build()));
        assertEquals(Status.Code.NOT_FOUND, unknown.getStatus().getCode(), "an unknown service name");
        // An oversized name fails the call (gRPC echoes it into a status too large for the trailers), nothing more.
        assertThrows(StatusRuntimeException.class, () -> HealthGrpc.newBlockingStub(anonymous)
                .withDeadlineAfter(5, TimeUnit.SECONDS)
                .check(HealthCheckRequest.newBuilder().setService("x".repeat(100_000)).build()));
        assertEquals(ServingStatus.SERVING, HealthGrpc.newBlockingStub(anonymous).withDeadlineAfter(5, TimeUnit.SECONDS)
                .check(HealthCheckRequest.getDefaultInstance()).getStatus(), "still serving afterwards");
    }

    HealthGrpc.HealthBlockingStub healthClient(StandaloneAuthzServer r) {
        ManagedChannel ch = Grpc.newChannelBuilder("127.0.0.1:" + r.port(), InsecureChannelCredentials.create()).build();
        closeables.add(ch::shutdownNow);
        return HealthGrpc.newBlockingStub(ch).withDeadlineAfter(5, TimeUnit.SECONDS);
    }

    /** Waits (bounded) until the replica reports {@code expected} for the whole server and for Authorization. */
    void awaitHealth(StandaloneAuthzServer r, ServingStatus expected, Duration limit) throws InterruptedException {
        HealthGrpc.HealthBlockingStub health = healthClient(r);
        long deadline = System.nanoTime() + limit.toNanos();
        ServingStatus all = null;
        ServingStatus authz = null;
        while (System.nanoTime() < deadline) {
            all = health.check(HealthCheckRequest.getDefaultInstance()).getStatus();
            authz = health.check(HealthCheckRequest.newBuilder()
                    .setService(StandaloneAuthzServer.AUTHORIZATION_SERVICE).build()).getStatus();
            if (all == expected && authz == expected) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("health after " + limit + ": '' " + all + ", Authorization " + authz + "; expected "
                + expected);
    }

    @Test
    void refusesWatchersWithoutCertificateWithANodeLeafOrOutsideTheAllowList() throws Exception {
        // An attested node named like a listed replica is still a node: its leaf carries the claims extension.
        NodeAgent node = agent("authz-1");
        AgentCredentials creds = node.attestOnce();
        ReplicaFiles unlisted = issueReplica("authz-9");
        ManagedChannel nodeLeaf = ControlPlaneChannels.open("127.0.0.1:" + cpPort, creds.trustBundle(),
                node.clientIdentity());
        ManagedChannel notListedReplica = ControlPlaneChannels.open("127.0.0.1:" + cpPort, creds.trustBundle(),
                Optional.of(unlisted.identity()));
        ManagedChannel anonymous = ControlPlaneChannels.open("127.0.0.1:" + cpPort, creds.trustBundle(), Optional.empty());
        closeables.add(nodeLeaf::shutdownNow);
        closeables.add(notListedReplica::shutdownNow);
        closeables.add(anonymous::shutdownNow);
        var req = WatchRegistryRequest.newBuilder().setReplicaId("t").build();
        StatusRuntimeException byNode = assertThrows(StatusRuntimeException.class,
                () -> AttestationServiceGrpc.newBlockingStub(nodeLeaf).watchRegistry(req).next());
        assertEquals(Status.Code.PERMISSION_DENIED, byNode.getStatus().getCode());
        assertTrue(byNode.getStatus().getDescription().contains("attestation claims extension"),
                byNode.getStatus().getDescription());
        StatusRuntimeException notListed = assertThrows(StatusRuntimeException.class,
                () -> AttestationServiceGrpc.newBlockingStub(notListedReplica).watchRegistry(req).next());
        assertEquals(Status.Code.PERMISSION_DENIED, notListed.getStatus().getCode());
        assertTrue(notListed.getStatus().getDescription().contains(replicaSpiffe("authz-9")
                + " is not an authz replica identity"), notListed.getStatus().getDescription());
        StatusRuntimeException noCert = assertThrows(StatusRuntimeException.class,
                () -> AttestationServiceGrpc.newBlockingStub(anonymous).watchRegistry(req).next());
        assertEquals(Status.Code.UNAUTHENTICATED, noCert.getStatus().getCode());
    }

    @Test
    void firstEventIsAFullSnapshotThenDeltasCarryOnlyTheChangedNode() throws Exception {
        NodeAgent a = agent("authz-1");
        AgentCredentials creds = a.attestOnce();
        agent("web").attestOnce();
        ManagedChannel ch = ControlPlaneChannels.open("127.0.0.1:" + cpPort, creds.trustBundle(),
                Optional.of(issueReplica("authz-1").identity()));
        closeables.add(ch::shutdownNow);
        Iterator<RegistryEvent> events = AttestationServiceGrpc.newBlockingStub(ch)
                .watchRegistry(WatchRegistryRequest.newBuilder().setReplicaId("probe").build());
        RegistryEvent first = events.next();
        assertTrue(first.getFull());
        assertEquals(Set.of("authz-1", "web"), Set.copyOf(first.getNodesList().stream().map(n -> n.getNodeId()).toList()));
        assertEquals(Set.of("default", "strict"),
                Set.copyOf(first.getPolicyVersionsList().stream().map(p -> p.getId()).toList()));
        assertTrue(first.getMeshRequirementsSet(), "a snapshot always carries the mesh policy table");
        assertEquals(0, first.getMeshRequirementsCount(), "no mesh config: nothing required");
        assertEquals(2, first.getTrustBundleCount(), "root and intermediate");
        cp.registry().revoke("web", "delta test");
        RegistryEvent next = events.next();
        while (next.getHeartbeat()) {
            next = events.next();
        }
        assertFalse(next.getFull());
        assertEquals(1, next.getNodesCount());
        assertEquals("REVOKED", next.getNodes(0).getState());
        assertTrue(next.getRevision() > first.getRevision());
        assertFalse(next.getMeshRequirementsSet(), "the table did not change");

        cp.mesh().replace("""
                services:
                  - name: web
                    members: {nodes: [web]}
                    ingress: [{port: 8443, appPort: 8080, policies: [default]}]
                """);
        RegistryEvent table = events.next();
        while (table.getHeartbeat()) {
            table = events.next();
        }
        assertFalse(table.getFull(), "a table change alone is a delta");
        assertEquals(0, table.getNodesCount());
        assertTrue(table.getMeshRequirementsSet());
        assertEquals(List.of(MeshPolicyRequirement.newBuilder().setDestinationPrincipal(spiffe("web")).setPort(8443)
                .addPolicyIds("default").build()), table.getMeshRequirementsList());
        assertTrue(table.getRevision() > next.getRevision());
    }

    /** Opens a raw watch as {@code replica}, reads its first event (a snapshot) and returns the rest of the stream. */
    Iterator<RegistryEvent> watchAs(ReplicaFiles replica) throws Exception {
        List<X509Certificate> bundle = Pem.parseCertificates(Files.readString(cp.caBundleFile()));
        ManagedChannel ch = ControlPlaneChannels.open("127.0.0.1:" + cpPort, bundle, Optional.of(replica.identity()));
        closeables.add(ch::shutdownNow);
        Iterator<RegistryEvent> events = AttestationServiceGrpc.newBlockingStub(ch)
                .watchRegistry(WatchRegistryRequest.newBuilder().setReplicaId("probe").build());
        assertTrue(events.next().getFull(), "a watch starts with a snapshot");
        return events;
    }

    /** Reads events (heartbeats every 200 ms) until the stream ends; fails if it has not ended within 10 s. */
    static StatusRuntimeException endOf(Iterator<RegistryEvent> events) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        try {
            while (System.nanoTime() < deadline) {
                events.next();
            }
        } catch (StatusRuntimeException e) {
            return e;
        }
        throw new AssertionError("the watch was not closed within 10 s");
    }

    @Test
    void anOpenWatchIsClosedWhenItsCertificateExpiresOrNoLongerChainsToTheBundle() throws Exception {
        // Expiry: a replica certificate valid for 2 s; its stream ends once it expires, however many syncs passed
        Iterator<RegistryEvent> shortLived = watchAs(issueReplica("authz-1", Duration.ofSeconds(2)));
        StatusRuntimeException expired = endOf(shortLived);
        assertEquals(Status.Code.UNAUTHENTICATED, expired.getStatus().getCode(), expired.toString());
        assertTrue(expired.getStatus().getDescription().contains("expired"), expired.toString());

        // Rotation: the replica's issuing intermediate stays trusted for 1 s, then leaves the bundle
        Iterator<RegistryEvent> events = watchAs(issueReplica("authz-2"));
        cp.rotateIntermediate(Duration.ofSeconds(1));
        StatusRuntimeException unchained = endOf(events);
        assertEquals(Status.Code.PERMISSION_DENIED, unchained.getStatus().getCode(), unchained.toString());
        assertTrue(unchained.getStatus().getDescription().contains("does not chain"), unchained.toString());
    }

    static String ordersRequiring(String policy) {
        return """
                services:
                  - name: orders
                    members: {nodes: [orders]}
                    ingress: [{port: 8443, appPort: 8080, policies: [%s]}]
                """.formatted(policy);
    }

    /** Denied by principal (these checks carry no certificate) because instance {@code node} lacks {@code policy}. */
    static boolean deniedFor(CheckResponse r, String node, String policy) {
        return !allowed(r) && r.getStatus().getMessage().equals("instance '" + node + "' of " + spiffe(node)
                + " does not satisfy policy '" + policy + "'");
    }

    @Test
    void checksWithoutPolicyHeaderFollowTheMeshConfigStreamedToTheReplicaAndItsChanges() throws Exception {
        cp.mesh().replace(ordersRequiring("strict"));
        agent("orders").attestOnce();
        agent("weak").attestOnce();
        agent("strong", STRONG).attestOnce();
        StandaloneAuthzServer r1 = replica("authz-1", true);
        // The snapshot carried the table: the replica needs no further event to answer.
        assertEquals(List.of("strict"), r1.view().requiredPolicies(spiffe("orders"), 8443));
        var stubs = List.of(plaintextClientWithoutHeader(r1));
        CheckRequest weakToOrders = toDestination(spiffe("weak"), spiffe("orders"), 8443);
        CheckRequest strongToOrders = toDestination(spiffe("strong"), spiffe("orders"), 8443);
        assertTrue(deniedFor(stubs.get(0).check(weakToOrders), "weak", "strict"), "weak caller lacks 'strict'");
        assertTrue(allowed(stubs.get(0).check(strongToOrders)), "strong caller holds 'strict'");
        assertTrue(allowed(stubs.get(0).check(toDestination(spiffe("weak"), spiffe("orders"), 9443))),
                "a port without requirements needs only attestation");
        // The same answers as the control plane's embedded ext_authz.
        for (String destination : List.of("orders", "weak", "strong", "authz-1", "nobody")) {
            for (int port : List.of(8443, 9443)) {
                assertEquals(cp.registry().requiredPolicies(spiffe(destination), port),
                        r1.view().requiredPolicies(spiffe(destination), port), destination + " port " + port);
            }
        }

        // A mesh config change reaches the running replica and changes its decision.
        cp.mesh().replace(ordersRequiring("default"));
        within(Duration.ofSeconds(1), stubs, weakToOrders, StandaloneAuthzReplicaTest::allowed);
        assertEquals(List.of("default"), r1.view().requiredPolicies(spiffe("orders"), 8443));

        // A node listed in the mesh config that attests later brings its requirements with it.
        cp.mesh().replace(ordersRequiring("default") + """
                  - name: billing
                    members: {nodes: [billing]}
                    ingress: [{port: 8443, appPort: 8080, policies: [strict]}]
                """);
        assertEquals(List.of(), r1.view().requiredPolicies(spiffe("billing"), 8443), "not in the registry yet");
        CheckRequest weakToBilling = toDestination(spiffe("weak"), spiffe("billing"), 8443);
        // Until the replica knows the destination, what its port requires is unknown: denied, not "nothing".
        CheckResponse unsynced = stubs.get(0).check(weakToBilling);
        assertFalse(allowed(unsynced), "a destination the replica does not know is denied");
        assertTrue(unsynced.getStatus().getMessage().startsWith("destination not synced"),
                unsynced.getStatus().getMessage());
        agent("billing").attestOnce();
        within(Duration.ofSeconds(1), stubs, weakToBilling, r -> deniedFor(r, "weak", "strict"));
        assertTrue(allowed(stubs.get(0).check(toDestination(spiffe("strong"), spiffe("billing"), 8443))));
        assertTrue(allowed(stubs.get(0).check(weakToOrders)));

        // An emptied mesh config clears the table: nothing but attestation is required any more.
        cp.mesh().replace("services: []\n");
        within(Duration.ofSeconds(1), stubs, weakToBilling, StandaloneAuthzReplicaTest::allowed);
        assertEquals(List.of(), r1.view().requiredPolicies(spiffe("billing"), 8443));
    }
}
