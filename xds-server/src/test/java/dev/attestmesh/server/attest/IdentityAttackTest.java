package dev.attestmesh.server.attest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.AttestationRefusedException;
import dev.attestmesh.agent.ControlPlaneChannels;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.agent.NodeKeyPair;
import dev.attestmesh.api.v1.AttestRequest;
import dev.attestmesh.api.v1.AttestResponse;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.ChallengeRequest;
import dev.attestmesh.api.v1.ChallengeResponse;
import dev.attestmesh.api.v1.RegistryEvent;
import dev.attestmesh.api.v1.WatchRegistryRequest;
import dev.attestmesh.ca.AttestMeshOids;
import dev.attestmesh.ca.AttestationBoundIssuer;
import dev.attestmesh.ca.AttestationClaims;
import dev.attestmesh.ca.CsrValidator;
import dev.attestmesh.ca.IssuedCertificate;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.ca.ReservedClientCertificateIssuer;
import dev.attestmesh.ca.SpiffeId;
import dev.attestmesh.envoy.BootstrapRenderer;
import dev.attestmesh.identity.ControlPlaneTrustManager;
import dev.attestmesh.identity.ReservedClientCertificates;
import dev.attestmesh.issuance.IssuanceLogEntry;
import dev.attestmesh.issuance.ReportDataBinding;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.demo.DemoAuthzClient;
import dev.attestmesh.server.registry.NodeEntry;
import dev.attestmesh.server.store.NodeStore;
import dev.attestmesh.server.store.RegistrationStore;
import dev.attestmesh.server.store.TestPostgres;
import dev.attestmesh.server.watch.RegistryWatchSettings;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The identity attack suite of issue 10: one test per attack, each made as an attacker would make it,
 * over gRPC against a real in-process control plane (Micronaut application: attestation, xDS, ext_authz,
 * registry watch and admin API on loopback ephemeral ports), with Kubernetes token verification on (a
 * test issuer whose JWK set the control plane reads from a file).
 *
 * <p>Every test asserts the refusal and its reason (status code and a message naming the rule that
 * failed) and that nothing changed: the victim's record in the registry <em>and in the store</em>, its
 * SDS secret as Envoy receives it over ADS, the instances of its principal, the issuance log. Every
 * attack that involves state runs on both stores ({@link Store}): the embedded H2 database and
 * PostgreSQL (a fresh schema per test, see {@link TestPostgres}; the PostgreSQL cases are skipped with
 * a message saying how to get one when none is available).
 *
 * <p>Tests and the attack they make:
 * <ul>
 *   <li>{@link #takeover_anotherKeyCannotAttestAsAnAttestedNodeId}: a second agent (another TEE, another
 *       key) attests as an existing node id;</li>
 *   <li>{@link #impersonation_namespaceAndServiceAccountCannotBeClaimed}: AttestRequest fields 7/8, an
 *       Istio SPIFFE ID without a token, and with a token of another namespace;</li>
 *   <li>{@link #nodeCertificate_isNeverAnAdminNorAReplicaNorAReservedIdentity}: a node leaf as admin
 *       client certificate and as registry-watch replica; registrations granting reserved identities;</li>
 *   <li>{@link #istioPrincipal_revokedSiblingDeniesThePrincipalButNotTheSiblingsCertificate}: several
 *       pods per service account, one revoked;</li>
 *   <li>{@link #revokedTee_cannotEscapeUnderANewNodeId}: re-attesting under a new node id after a node
 *       revocation;</li>
 *   <li>{@link #nodeLeaf_cannotServeAsTheControlPlane}: a node leaf presented as the control plane;</li>
 *   <li>{@link #tokens_otherNamespaceExpiredWrongAudienceOtherNonceOversizedAreRefused}: bad tokens;</li>
 *   <li>{@link #evidenceForRegistrationA_cannotClaimRegistrationB}: evidence satisfying one registration
 *       used to ask for another's identity.</li>
 * </ul>
 */
class IdentityAttackTest {
    /** Where the control plane keeps its state. */
    enum Store { H2, POSTGRESQL }

    /** Name of the reserved client certificate this test calls ext_authz Check with. */
    static final String CHECK_CLIENT = "attack-test-envoy";
    static final String TD = "attestmesh.local";
    static final String GOOD = "a1".repeat(48);
    static final String STRICT = "c3".repeat(48);
    static final String ISSUER = "https://kubernetes.default.svc.cluster.local";
    static final String ADMIN_TOKEN = "identity-attack-test-admin-token-0123456789";
    static final String PAYMENTS = "spiffe://" + TD + "/ns/prod/sa/payments";
    static final String ORDERS = "spiffe://" + TD + "/ns/prod/sa/orders";
    static final String VAULT = "spiffe://" + TD + "/svc/vault";
    static final String CONTROL_PLANE_ID = "spiffe://" + TD + "/attestmesh/control-plane";
    static final String ALICE = "spiffe://" + TD + "/attestmesh/admin/alice";
    static final String REPLICA = "spiffe://" + TD + "/attestmesh/replica/r1";
    static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    static final char[] PASSWORD = "changeit".toCharArray();

    static final String POLICIES = """
            policies:
              - id: default
                tee: [sim]
                reference:
                  sim:
                    measurement: ["%s", "%s"]
              - id: strict
                tee: [sim]
                reference:
                  sim:
                    measurement: ["%s"]
            """.formatted(GOOD, STRICT, STRICT);

    /**
     * Machines ({@code vm-*}) get one identity each; Kubernetes pods get their service account's Istio
     * identity, proven by a token; {@code vault} needs the {@code strict} policy on top of {@code default}.
     */
    static final String REGISTRATIONS = """
            registrations:
              - id: nodes
                spiffeId: spiffe://%1$s/node/{nodeId}
                policies: [default]
                selectors: {nodeId: "vm-*"}
              - id: payments
                spiffeId: %2$s
                policies: [default]
                selectors:
                  kubernetes: {namespace: prod, serviceAccount: payments}
              - id: orders
                spiffeId: %3$s
                policies: [default]
                selectors:
                  kubernetes: {namespace: prod, serviceAccount: orders}
              - id: vault
                spiffeId: %4$s
                policies: [default, strict]
                selectors: {nodeId: "vm-*"}
            """.formatted(TD, PAYMENTS, ORDERS, VAULT);

    /** The cluster's service-account issuer key (RS256, as the API server's). */
    static final RSAKey ISSUER_KEY = rsaKey();

    @TempDir
    Path dir;

    private final List<AutoCloseable> open = new ArrayList<>();
    /** The JDBC URL of this test's PostgreSQL schema, once created (kept across restarts). */
    private String postgresUrl;

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    // ------------------------------------------------------------------------------------------------
    // 1. Takeover of a node id
    // ------------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @EnumSource(Store.class)
    void takeover_anotherKeyCannotAttestAsAnAttestedNodeId(Store store) throws Exception {
        Plane p = start(store, Map.of());
        NodeAgent victim = p.agent("vm-victim", machine(GOOD), "victim");
        AgentCredentials vc = victim.attestOnce();
        NodeAgent checker = p.agent("vm-checker", machine(GOOD), "checker");
        checker.attestOnce();
        NodeEntry before = p.cp.registry().entry("vm-victim").orElseThrow();
        assertEquals(sha256Hex(vc.leaf().getPublicKey().getEncoded()), before.keySha256(), "pinned to the victim's key");
        int logBefore = p.log().size();

        // Another genuine, policy-conforming TEE with its own key, claiming the victim's node id.
        NodeAgent attacker = p.agent("vm-victim", machine(GOOD), "attacker");
        AttestationRefusedException refused = assertThrows(AttestationRefusedException.class, attacker::attestOnce);
        assertEquals("PERMISSION_DENIED", refused.code());
        assertContains(refused.getMessage(), "node id 'vm-victim' is held by another key");
        assertContains(refused.getMessage(), "attestmesh nodes release vm-victim");

        // Over mTLS with another attested node's certificate: that is not a renewal of vm-victim.
        StatusRuntimeException viaOtherCert = assertThrows(StatusRuntimeException.class,
                () -> p.rawAttest(checker.clientIdentity(), "vm-victim", machine(GOOD), NodeKeyPair.generate(), b -> { }));
        assertStatus(viaOtherCert, Status.Code.PERMISSION_DENIED, "node id 'vm-victim' is held by another key");

        assertUnchanged(p, before);
        assertEquals(logBefore, p.log().size(), "nothing was issued to the attacker");
        assertEquals(Pem.certificates(vc.chain()).strip(), p.sdsDefaultChain(victim).strip(),
                "the victim's SDS secret is still the victim's certificate");
        assertTrue(p.checkCertificate(vc.leaf(), "default").allowed(), "the victim is still admitted");
        assertFalse(Files.exists(attacker.files().directory().resolve("cert-chain.pem")));

        // Legitimate path 1: the victim renews over mTLS with its current certificate.
        AgentCredentials renewed = victim.attestOnce();
        assertNotEquals(vc.leaf().getSerialNumber(), renewed.leaf().getSerialNumber());
        assertEquals(vc.leaf().getPublicKey(), renewed.leaf().getPublicKey());
        NodeEntry afterRenewal = p.cp.registry().entry("vm-victim").orElseThrow();
        assertEquals(renewed.leaf().getSerialNumber().toString(16), afterRenewal.certSerialHex());
        assertEquals(before.keySha256(), afterRenewal.keySha256());

        // Legitimate path 2: an operator releases the node id (admin API); then the other key may take it.
        HttpResponse<String> release = p.admin("POST", "/api/v1/nodes/vm-victim/release",
                "{\"reason\":\"machine replaced\"}");
        assertEquals(200, release.statusCode(), release.body());
        assertEquals(NodeState.EXPIRED, p.cp.registry().entry("vm-victim").orElseThrow().state());
        IssuanceLogEntry released = p.log().getLast();
        assertEquals("release", released.serialHex());
        assertEquals("vm-victim", released.nodeId());
        assertEquals("spiffe://" + TD + "/node/vm-victim", released.spiffeId());
        assertTrue(p.cp.issuanceLog().verify().intact());

        AgentCredentials taken = attacker.attestOnce();
        String newKey = sha256Hex(taken.leaf().getPublicKey().getEncoded());
        assertEquals(newKey, p.cp.registry().entry("vm-victim").orElseThrow().keySha256());
        assertEquals(newKey, p.stored("vm-victim").keySha256(), "the store holds the new lineage");
        assertEquals(Pem.certificates(taken.chain()).strip(), p.sdsDefaultChain(attacker).strip());
        DemoAuthzClient.Result old = p.checkCertificate(renewed.leaf(), "default");
        assertFalse(old.allowed(), "the released lineage's certificate is no longer admitted");
    }

    // ------------------------------------------------------------------------------------------------
    // 2. Namespace / service account impersonation
    // ------------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @EnumSource(Store.class)
    void impersonation_namespaceAndServiceAccountCannotBeClaimed(Store store) throws Exception {
        Plane p = start(store, Map.of());
        Pod legit = p.pod("prod", "payments", GOOD, Optional.empty());
        AgentCredentials lc = legit.agent.attestOnce();
        assertEquals(PAYMENTS, lc.claims().getSpiffeId(), "the token earned the Istio identity");
        assertEquals(legit.uid, lc.claims().getNodeId(), "the node id is the pod UID");
        int logBefore = p.log().size();
        NodeEntry before = p.cp.registry().entry(legit.uid).orElseThrow();

        // AttestRequest fields 7 and 8: refused whatever else the request holds.
        for (var fields : List.of(Map.of("namespace", "prod", "service_account", "payments"), Map.of("namespace", "prod"),
                Map.of("service_account", "payments"))) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> p.rawAttest(Optional.empty(),
                    "vm-impostor", machine(GOOD), NodeKeyPair.generate(), b -> {
                        b.setNamespace(fields.getOrDefault("namespace", ""));
                        b.setServiceAccount(fields.getOrDefault("service_account", ""));
                    }));
            assertStatus(e, Status.Code.INVALID_ARGUMENT, "namespace and service_account are no longer accepted");
        }

        // Asking for the Istio identity without a token.
        NodeAgent noToken = p.agent("vm-impostor", machine(GOOD), "impostor", Optional.of(PAYMENTS));
        AttestationRefusedException e1 = assertThrows(AttestationRefusedException.class, noToken::attestOnce);
        assertEquals("PERMISSION_DENIED", e1.code());
        assertContains(e1.getMessage(), "registration 'payments'");
        assertContains(e1.getMessage(), "requires a Kubernetes service-account token");

        // With a genuine token, of a pod in another namespace.
        Pod staging = p.pod("staging", "payments", GOOD, Optional.of(PAYMENTS));
        AttestationRefusedException e2 = assertThrows(AttestationRefusedException.class, staging.agent::attestOnce);
        assertEquals("PERMISSION_DENIED", e2.code());
        assertContains(e2.getMessage(), "registration 'payments'");
        assertContains(e2.getMessage(), "the token proves namespace 'staging'");

        assertTrue(p.cp.registry().entry("vm-impostor").isEmpty());
        assertTrue(p.cp.registry().entry(staging.uid).isEmpty());
        assertTrue(p.storeHasNo("vm-impostor") && p.storeHasNo(staging.uid));
        assertEquals(List.of(legit.uid), p.cp.registry().instancesOf(PAYMENTS).stream().map(r -> r.nodeId()).toList(),
                "the principal's instances are the legitimate pod's only");
        assertUnchanged(p, before);
        assertEquals(logBefore, p.log().size());
        CheckResponse byPrincipal = p.checkPrincipal(PAYMENTS, "default");
        assertEquals(0, byPrincipal.getStatus().getCode(), byPrincipal.getStatus().getMessage());
    }

    // ------------------------------------------------------------------------------------------------
    // 3. Node certificate as admin or replica; reserved identities
    // ------------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @EnumSource(Store.class)
    void nodeCertificate_isNeverAnAdminNorAReplicaNorAReservedIdentity(Store store) throws Exception {
        Plane p = start(store, Map.of());
        NodeAgent ops = p.agent("vm-ops", machine(GOOD), "ops");
        AgentCredentials oc = ops.attestOnce();
        int logBefore = p.log().size();

        // An attested node asks for reserved identities: refused, whatever its evidence.
        for (String reserved : List.of(ALICE, REPLICA, CONTROL_PLANE_ID)) {
            NodeAgent asks = p.agent("vm-greedy", machine(GOOD), "greedy-" + reserved.hashCode(), Optional.of(reserved));
            AttestationRefusedException e = assertThrows(AttestationRefusedException.class, asks::attestOnce);
            assertEquals("PERMISSION_DENIED", e.code());
            assertContains(e.getMessage(), reserved + " is reserved");
        }

        // A registration granting a reserved identity is rejected at validation, next to a valid one:
        // nothing is half-applied.
        Map<String, Long> registrationsBefore = p.registrationVersions();
        var storedBefore = new RegistrationStore(p.cp.database()).loadAll().keySet();
        HttpResponse<String> bad = p.admin("POST", "/api/v1/registrations", """
                registrations:
                  - id: harmless
                    spiffeId: spiffe://%1$s/svc/harmless
                    policies: [default]
                  - id: steal-admin
                    spiffeId: %2$s
                    policies: [default]
                """.formatted(TD, ALICE), "application/yaml");
        assertEquals(400, bad.statusCode(), bad.body());
        assertContains(bad.body(), "registrations[1].spiffeId");
        assertContains(bad.body(), "reserved for AttestMesh's own components");
        assertContains(bad.body(), "nothing was changed");
        assertEquals(registrationsBefore, p.registrationVersions(), "no registration was added or changed");
        assertEquals(storedBefore, new RegistrationStore(p.cp.database()).loadAll().keySet());

        // A node-id template whose expansion lands under /attestmesh/: valid as a template, but a node whose
        // id is "attestmesh" must not be handed the control plane's identity.
        HttpResponse<String> template = p.admin("POST", "/api/v1/registrations", """
                registrations:
                  - id: per-node
                    spiffeId: spiffe://%s/{nodeId}/control-plane
                    policies: [default]
                    selectors: {nodeId: "attestmesh"}
                """.formatted(TD), "application/yaml");
        assertEquals(200, template.statusCode(), template.body());
        NodeAgent named = p.agent("attestmesh", machine(GOOD), "named-attestmesh");
        AttestationRefusedException e3 = assertThrows(AttestationRefusedException.class, named::attestOnce);
        assertEquals("PERMISSION_DENIED", e3.code());
        assertContains(e3.getMessage(), "no registration grants an identity to node 'attestmesh'");
        assertTrue(p.cp.registry().entry("attestmesh").isEmpty());
        assertTrue(p.cp.registry().instancesOf(CONTROL_PLANE_ID).isEmpty(), "no node holds the control plane's identity");
        assertEquals(logBefore, p.log().size(), "no reserved identity was ever issued");

        // Operator-issued client certificates, to show the same endpoints accept the right ones.
        Path alice = p.issueClient(ReservedClientCertificateIssuer.Kind.ADMIN, "alice");
        Path replica = p.issueClient(ReservedClientCertificateIssuer.Kind.REPLICA, "r1");
        Path nodeFiles = writeIdentity(dir.resolve("node-leaf"), ops.clientIdentity().orElseThrow());
        p.stop();

        // Admin port over TLS, alice listed as admin, r1 as replica.
        TlsServer tls = adminTls(p.cp.trustBundle());
        Map<String, Object> props = new HashMap<>(tls.properties);
        props.put("attestmesh.admin.cert-identities", ALICE + "=admin");
        props.put("attestmesh.authz.replica-identities", REPLICA);
        Plane q = start(store, props);
        String https = "https://localhost:" + q.ctx.getBean(EmbeddedServer.class).getPort();
        try (HttpClient asNode = tls.client(Optional.of(nodeFiles)); HttpClient asAlice = tls.client(Optional.of(alice))) {
            HttpResponse<String> r = asNode.send(HttpRequest.newBuilder(URI.create(https + "/api/v1/nodes")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(401, r.statusCode(), "a node leaf is never an admin: " + r.body());
            assertEquals(200, asAlice.send(HttpRequest.newBuilder(URI.create(https + "/api/v1/nodes")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode(), "the listed admin certificate is");
        }
        StatusRuntimeException watchAsNode = assertThrows(StatusRuntimeException.class,
                () -> q.watchFirstEvent(ops.clientIdentity().orElseThrow()));
        assertStatus(watchAsNode, Status.Code.PERMISSION_DENIED, "carries the attestation claims extension");
        // Even a node leaf whose URI were the listed one (minted here from the mesh CA with vm-ops's claims,
        // since no registration can grant it) is refused: the claims extension makes it a node certificate.
        AttestationClaims opsClaims = q.cp.registry().entry("vm-ops").orElseThrow().claims();
        Path leafAsAlice = writeIdentity(dir.resolve("leaf-as-alice"), q.nodeLeafNaming(ALICE, opsClaims));
        try (HttpClient c = tls.client(Optional.of(leafAsAlice))) {
            assertEquals(401, c.send(HttpRequest.newBuilder(URI.create(https + "/api/v1/nodes")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode(), "a node leaf naming a listed admin");
        }
        StatusRuntimeException watchAsListedNode = assertThrows(StatusRuntimeException.class,
                () -> q.watchFirstEvent(q.nodeLeafNaming(REPLICA, opsClaims)));
        assertStatus(watchAsListedNode, Status.Code.PERMISSION_DENIED, "carries the attestation claims extension");
        RegistryEvent snapshot = q.watchFirstEvent(readIdentity(replica));
        assertTrue(snapshot.getFull(), "the listed replica certificate gets the registry");
        assertTrue(snapshot.getNodesList().stream().anyMatch(n -> n.getNodeId().equals("vm-ops")));
        q.stop();

        // Listing the node's URI as an admin or a replica identity is refused at start / construction.
        String nodeUri = oc.claims().getSpiffeId();
        Map<String, Object> listed = new HashMap<>(tls.properties);
        listed.put("attestmesh.admin.cert-identities", nodeUri + "=admin");
        Exception startRefused = assertThrows(Exception.class, () -> start(store, listed));
        assertContains(causes(startRefused), nodeUri);
        assertContains(causes(startRefused), "not a reserved admin identity");
        IllegalArgumentException replicaRefused = assertThrows(IllegalArgumentException.class,
                () -> new RegistryWatchSettings(Set.of(nodeUri), RegistryWatchSettings.DEFAULT_HEARTBEAT));
        assertContains(replicaRefused.getMessage(), "is not a reserved replica identity");
    }

    // ------------------------------------------------------------------------------------------------
    // 4. Istio principal with a revoked sibling
    // ------------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @EnumSource(Store.class)
    void istioPrincipal_revokedSiblingDeniesThePrincipalButNotTheSiblingsCertificate(Store store) throws Exception {
        Plane p = start(store, Map.of());
        List<Pod> pods = new ArrayList<>();
        Map<String, AgentCredentials> creds = new LinkedHashMap<>();
        for (int i = 0; i < 3; i++) {
            Pod pod = p.pod("prod", "payments", GOOD, Optional.empty());
            AgentCredentials c = pod.agent.attestOnce();
            assertEquals(PAYMENTS, c.claims().getSpiffeId());
            pods.add(pod);
            creds.put(pod.uid, c);
        }
        Pod revoked = pods.get(1);
        Pod sibling = pods.get(0);
        assertEquals(3, p.cp.registry().instancesOf(PAYMENTS).size());
        CheckResponse allowed = p.checkPrincipal(PAYMENTS, "default");
        assertEquals(0, allowed.getStatus().getCode(), allowed.getStatus().getMessage());

        HttpResponse<String> rule = p.admin("POST", "/api/v1/revocations",
                "{\"kind\":\"node\",\"value\":\"" + revoked.uid + "\",\"reason\":\"compromised pod\"}");
        assertEquals(201, rule.statusCode(), rule.body());
        assertContains(rule.body(), revoked.uid);
        assertEquals(NodeState.REVOKED, p.cp.registry().entry(revoked.uid).orElseThrow().state());
        assertEquals(NodeState.REVOKED, p.stored(revoked.uid).state(), "the revocation is in the store");

        // By principal (Istio: no peer certificate): fail closed, naming the revoked instance.
        CheckResponse denied = p.checkPrincipal(PAYMENTS, "default");
        assertEquals(Status.Code.PERMISSION_DENIED.value(), denied.getStatus().getCode());
        assertContains(denied.getStatus().getMessage(), "instance '" + revoked.uid + "' of " + PAYMENTS);
        assertContains(denied.getStatus().getMessage(), "REVOKED");

        // A sibling renewing does not make the principal allowed again.
        AgentCredentials siblingRenewed = sibling.agent.attestOnce();
        assertEquals(PAYMENTS, siblingRenewed.claims().getSpiffeId());
        CheckResponse stillDenied = p.checkPrincipal(PAYMENTS, "default");
        assertEquals(Status.Code.PERMISSION_DENIED.value(), stillDenied.getStatus().getCode());
        assertContains(stillDenied.getStatus().getMessage(), revoked.uid);

        // By peer certificate (plain Envoy): per certificate.
        assertTrue(p.checkCertificate(siblingRenewed.leaf(), "default").allowed(), "the sibling is still admitted");
        assertTrue(p.checkCertificate(creds.get(pods.get(2).uid).leaf(), "default").allowed());
        DemoAuthzClient.Result revokedCert = p.checkCertificate(creds.get(revoked.uid).leaf(), "default");
        assertFalse(revokedCert.allowed());
        assertContains(revokedCert.detail(), "revoked");

        // The revoked pod's renewal (over mTLS with its still unexpired certificate) is refused.
        AttestationRefusedException renewal = assertThrows(AttestationRefusedException.class, revoked.agent::attestOnce);
        assertEquals("PERMISSION_DENIED", renewal.code());
        assertContains(renewal.getMessage(), "node '" + revoked.uid + "' is revoked");
        assertEquals(NodeState.REVOKED, p.cp.registry().entry(revoked.uid).orElseThrow().state());
        assertEquals(creds.get(revoked.uid).leaf().getSerialNumber().toString(16),
                p.stored(revoked.uid).certSerialHex(), "no certificate was issued to the revoked pod");
    }

    // ------------------------------------------------------------------------------------------------
    // 5. Re-attesting under a new node id after a node revocation
    // ------------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @EnumSource(Store.class)
    void revokedTee_cannotEscapeUnderANewNodeId(Store store) throws Exception {
        Plane p = start(store, Map.of());
        SimulatedTee stolen = machine(GOOD);
        NodeAgent first = p.agent("vm-stolen", stolen, "stolen");
        first.attestOnce();
        HttpResponse<String> rule = p.admin("POST", "/api/v1/revocations",
                "{\"kind\":\"node\",\"value\":\"vm-stolen\",\"reason\":\"host compromised\"}");
        assertEquals(201, rule.statusCode(), rule.body());
        HttpResponse<String> rules = p.admin("GET", "/api/v1/revocations", null);
        assertContains(rules.body(), "\"kind\":\"platform\"");
        assertContains(rules.body(), stolen.platformIdText());
        int logBefore = p.log().size();

        // The same TEE (same platform id), a new key, a new node id.
        NodeAgent escape = p.agent("vm-innocent", stolen, "escape");
        AttestationRefusedException e = assertThrows(AttestationRefusedException.class, escape::attestOnce);
        assertEquals("PERMISSION_DENIED", e.code());
        assertContains(e.getMessage(), "node 'vm-innocent' matches revocation rule");
        assertContains(e.getMessage(), "(platform = " + stolen.platformIdText().substring(0, 24));
        assertContains(e.getMessage(), "host compromised");
        assertTrue(p.cp.registry().entry("vm-innocent").isEmpty());
        assertTrue(p.storeHasNo("vm-innocent"));
        assertEquals(logBefore, p.log().size());

        // The revoked node id itself stays refused; another machine is not affected by the platform rule.
        AttestationRefusedException again = assertThrows(AttestationRefusedException.class,
                p.agent("vm-stolen", stolen, "stolen-again")::attestOnce);
        assertEquals("PERMISSION_DENIED", again.code());
        assertContains(again.getMessage(), "revoked");
        AgentCredentials other = p.agent("vm-innocent", machine(GOOD), "other-machine").attestOnce();
        assertEquals("spiffe://" + TD + "/node/vm-innocent", other.claims().getSpiffeId());
    }

    // ------------------------------------------------------------------------------------------------
    // 6. A node leaf posing as the control plane (no state involved: one store)
    // ------------------------------------------------------------------------------------------------

    @Test
    void nodeLeaf_cannotServeAsTheControlPlane() throws Exception {
        Plane p = start(Store.H2, Map.of());
        NodeAgent node = p.agent("vm-rogue", machine(GOOD), "rogue");
        AgentCredentials nc = node.attestOnce();
        X509Certificate leaf = nc.leaf();
        // The node leaf: the EKUs mesh mTLS needs (it is the server certificate of the node's inbound
        // listener and the client certificate of its outbound clusters; docs/certificate-profile.md), its
        // own non-reserved identity, and the attestation claims.
        assertEquals(List.of(SERVER_AUTH, CLIENT_AUTH), leaf.getExtendedKeyUsage());
        assertEquals(List.of("spiffe://" + TD + "/node/vm-rogue"), ReservedClientCertificates.uriSans(leaf));
        assertTrue(leaf.getNonCriticalExtensionOIDs().contains(AttestMeshOids.CLAIMS_EXTENSION));

        // The real control plane's serving certificate, as a client sees it in the handshake.
        X509Certificate served = p.servedCertificate();
        assertEquals(List.of(SERVER_AUTH), served.getExtendedKeyUsage(), "the control plane is only ever a server");
        assertEquals(List.of(CONTROL_PLANE_ID), ReservedClientCertificates.uriSans(served));
        assertFalse(served.getNonCriticalExtensionOIDs() != null
                && served.getNonCriticalExtensionOIDs().contains(AttestMeshOids.CLAIMS_EXTENSION));

        // Rendered bootstraps pin the reserved identity (envoy-configs BootstrapRendererTest and
        // BootstrapFilesTest check every bootstrap); the pin matches the control plane, not the node leaf.
        CertificateValidationContext pin = BootstrapRenderer.controlPlaneSanPin(TD);
        assertEquals(1, pin.getMatchTypedSubjectAltNamesCount());
        SubjectAltNameMatcher m = pin.getMatchTypedSubjectAltNames(0);
        assertEquals(SubjectAltNameMatcher.SanType.URI, m.getSanType());
        assertEquals(CONTROL_PLANE_ID, m.getMatcher().getExact());
        assertFalse(ReservedClientCertificates.uriSans(leaf).contains(m.getMatcher().getExact()));

        // A server on loopback presenting the genuine node leaf: an agent configured as in production (the
        // mesh bundle, nothing else) refuses it before sending anything.
        AtomicInteger reached = new AtomicInteger();
        int port = serveAsControlPlane(node.clientIdentity().orElseThrow(), reached);
        NodeAgent fooled = new NodeAgent(new NodeAgent.Settings("vm-fooled", "127.0.0.1:" + port, p.cp.trustBundle(),
                dir.resolve("nodes").resolve("fooled"), Optional.empty(), Optional.empty()), machine(GOOD),
                Clock.systemUTC());
        AttestationRefusedException e = assertThrows(AttestationRefusedException.class, fooled::attestOnce);
        assertEquals("UNAVAILABLE", e.code());
        String why = causes(e);
        assertContains(why, "not the control plane identity " + CONTROL_PLANE_ID);
        assertContains(why, "spiffe://" + TD + "/node/vm-rogue");
        assertEquals(0, reached.get(), "no request reached the rogue server");
        // The same agent configuration reaches the real control plane.
        NodeAgent genuine = new NodeAgent(new NodeAgent.Settings("vm-genuine", p.target(), p.cp.trustBundle(),
                dir.resolve("nodes").resolve("genuine"), Optional.empty(), Optional.empty()), machine(GOOD),
                Clock.systemUTC());
        assertEquals("spiffe://" + TD + "/node/vm-genuine", genuine.attestOnce().claims().getSpiffeId());
    }

    // ------------------------------------------------------------------------------------------------
    // 7. Tokens
    // ------------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @EnumSource(Store.class)
    void tokens_otherNamespaceExpiredWrongAudienceOtherNonceOversizedAreRefused(Store store) throws Exception {
        Plane p = start(store, Map.of());
        Instant now = Instant.now();
        String uidA = UUID.randomUUID().toString();
        String uidB = UUID.randomUUID().toString();
        String tokenA = token("prod", "payments", uidA, now, Duration.ofHours(1), "attestmesh");
        String tokenB = token("prod", "orders", uidB, now, Duration.ofHours(1), "attestmesh");

        // Another namespace, and another service account of the same namespace: a genuine token, but not
        // for the identity asked for.
        String staging = token("staging", "payments", UUID.randomUUID().toString(), now, Duration.ofHours(1), "attestmesh");
        StatusRuntimeException otherNs = assertThrows(StatusRuntimeException.class,
                () -> p.rawAttestWithToken(staging, Optional.of(PAYMENTS)));
        assertStatus(otherNs, Status.Code.PERMISSION_DENIED, "registration 'payments'");
        assertStatus(otherNs, Status.Code.PERMISSION_DENIED, "the token proves namespace 'staging'");
        StatusRuntimeException otherSa = assertThrows(StatusRuntimeException.class,
                () -> p.rawAttestWithToken(tokenB, Optional.of(PAYMENTS)));
        assertStatus(otherSa, Status.Code.PERMISSION_DENIED, "service account 'orders'");

        // Expired (beyond the clock skew).
        String expired = token("prod", "payments", uidA, now.minus(Duration.ofHours(2)), Duration.ofHours(1), "attestmesh");
        assertTokenRefused(p, expired, Status.Code.UNAUTHENTICATED, "lifetime check failed");
        assertTokenRefused(p, expired, Status.Code.UNAUTHENTICATED, "expired");
        // For another audience (the API server's).
        String apiServer = token("prod", "payments", uidA, now, Duration.ofHours(1), "https://kubernetes.default.svc");
        assertTokenRefused(p, apiServer, Status.Code.UNAUTHENTICATED, "audience check failed");
        // Oversized, checked before parsing.
        String huge = tokenA + "A".repeat(16 * 1024);
        assertTokenRefused(p, huge, Status.Code.INVALID_ARGUMENT, "more than the limit of 16384");

        // Bound to another nonce: the nonce from A's token is A's alone.
        try (Raw raw = p.raw(Optional.empty())) {
            ChallengeResponse forA = raw.stub.challenge(ChallengeRequest.newBuilder().setServiceAccountToken(tokenA).build());
            assertEquals(uidA, forA.getNodeId());
            StatusRuntimeException asB = assertThrows(StatusRuntimeException.class,
                    () -> raw.attest(uidB, forA.getNonce().toByteArray(), machine(GOOD), NodeKeyPair.generate(),
                            Optional.of(ORDERS)));
            assertStatus(asB, Status.Code.FAILED_PRECONDITION, "the nonce was issued for another node id");

            ChallengeResponse forB = raw.stub.challenge(ChallengeRequest.newBuilder().setServiceAccountToken(tokenB).build());
            StatusRuntimeException withBsNonce = assertThrows(StatusRuntimeException.class,
                    () -> raw.attest(uidA, forB.getNonce().toByteArray(), machine(GOOD), NodeKeyPair.generate(),
                            Optional.of(PAYMENTS)));
            assertStatus(withBsNonce, Status.Code.FAILED_PRECONDITION, "the nonce was issued for another node id");

            // A's token presented for B's node id.
            StatusRuntimeException mismatched = assertThrows(StatusRuntimeException.class, () -> raw.stub.challenge(
                    ChallengeRequest.newBuilder().setNodeId(uidB).setServiceAccountToken(tokenA).build()));
            assertStatus(mismatched, Status.Code.PERMISSION_DENIED, "is not the pod UID the service-account token is bound to");

            // A nonce issued without a token cannot carry a Kubernetes identity.
            ChallengeResponse bare = raw.stub.challenge(ChallengeRequest.newBuilder().setNodeId(uidA).build());
            StatusRuntimeException untokened = assertThrows(StatusRuntimeException.class,
                    () -> raw.attest(uidA, bare.getNonce().toByteArray(), machine(GOOD), NodeKeyPair.generate(),
                            Optional.of(PAYMENTS)));
            assertStatus(untokened, Status.Code.PERMISSION_DENIED, "requires a Kubernetes service-account token");
        }

        assertTrue(p.cp.registry().entries().isEmpty(), "nothing was recorded: " + p.cp.registry().entries());
        assertTrue(p.storeHasNo(uidA) && p.storeHasNo(uidB));
        assertEquals(0, p.log().size(), "nothing was issued");
        assertTrue(p.cp.registry().instancesOf(PAYMENTS).isEmpty() && p.cp.registry().instancesOf(ORDERS).isEmpty());

        // The control: A's genuine token, with its own nonce, earns A's identity.
        AttestResponse ok = p.rawAttestWithToken(tokenA, Optional.empty());
        assertEquals(PAYMENTS, ok.getClaims().getSpiffeId());
        assertEquals(uidA, ok.getClaims().getNodeId());
    }

    // ------------------------------------------------------------------------------------------------
    // 8. Evidence for registration A used to claim registration B
    // ------------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @EnumSource(Store.class)
    void evidenceForRegistrationA_cannotClaimRegistrationB(Store store) throws Exception {
        Plane p = start(store, Map.of());
        NodeAgent bravo = p.agent("vm-bravo", machine(STRICT), "bravo", Optional.of(VAULT));
        AgentCredentials bc = bravo.attestOnce();
        assertEquals(VAULT, bc.claims().getSpiffeId(), "the strict measurement earns 'vault'");
        NodeEntry before = p.cp.registry().entry("vm-bravo").orElseThrow();
        int logBefore = p.log().size();

        // Evidence that satisfies 'default' (registration 'nodes') asks for 'vault', which also needs 'strict'.
        NodeAgent alpha = p.agent("vm-alpha", machine(GOOD), "alpha", Optional.of(VAULT));
        AttestationRefusedException e = assertThrows(AttestationRefusedException.class, alpha::attestOnce);
        assertEquals("PERMISSION_DENIED", e.code());
        assertContains(e.getMessage(), "registration 'vault' for " + VAULT + " does not hold");
        assertContains(e.getMessage(), "policy 'strict' is not satisfied");
        assertContains(e.getMessage(), "measurement");
        assertFalse(e.getMessage().toLowerCase().contains(STRICT.substring(0, 16)),
                "the refusal must not disclose vault's reference measurement: " + e.getMessage());

        assertTrue(p.cp.registry().entry("vm-alpha").isEmpty());
        assertTrue(p.storeHasNo("vm-alpha"));
        assertEquals(List.of("vm-bravo"), p.cp.registry().instancesOf(VAULT).stream().map(r -> r.nodeId()).toList());
        assertUnchanged(p, before);
        assertEquals(logBefore, p.log().size());

        // The same evidence is good for what it proves: registration A.
        AgentCredentials ac = p.agent("vm-alpha", machine(GOOD), "alpha-as-a").attestOnce();
        assertEquals("spiffe://" + TD + "/node/vm-alpha", ac.claims().getSpiffeId());
        assertEquals("nodes", ac.claims().getRegistration());
    }

    // ================================================================================================
    // Fixture
    // ================================================================================================

    /** A running control plane (Micronaut application) of this test. */
    final class Plane implements AutoCloseable {
        final ApplicationContext ctx;
        final ControlPlane cp;

        Plane(ApplicationContext ctx) {
            this.ctx = ctx;
            this.cp = ctx.getBean(ControlPlane.class);
        }

        String target() {
            return "127.0.0.1:" + cp.grpcPort();
        }

        void stop() {
            if (ctx.isRunning()) {
                ctx.close();
            }
        }

        @Override
        public void close() {
            stop();
        }

        /** An agent on its own simulated machine, key and output directory. */
        NodeAgent agent(String nodeId, SimulatedTee tee, String label) {
            return agent(nodeId, tee, label, Optional.empty());
        }

        NodeAgent agent(String nodeId, SimulatedTee tee, String label, Optional<String> identity) {
            NodeAgent a = new NodeAgent(new NodeAgent.Settings(nodeId, target(), cp.trustBundle(),
                    dir.resolve("nodes").resolve(label), Optional.empty(), identity), tee, Clock.systemUTC());
            open.add(a);
            return a;
        }

        /** A pod with a fresh UID and its projected token (one hour, audience attestmesh) in a file. */
        Pod pod(String namespace, String serviceAccount, String measurement, Optional<String> identity)
                throws Exception {
            String uid = UUID.randomUUID().toString();
            Path tokenFile = Files.createDirectories(dir.resolve("tokens").resolve(uid)).resolve("token");
            Files.writeString(tokenFile, token(namespace, serviceAccount, uid, Instant.now(), Duration.ofHours(1),
                    "attestmesh"));
            NodeAgent a = new NodeAgent(new NodeAgent.Settings(Optional.empty(), target(), cp.trustBundle(),
                    dir.resolve("pods").resolve(uid), Optional.of(tokenFile), identity), machine(measurement),
                    Clock.systemUTC());
            open.add(a);
            return new Pod(uid, a);
        }

        List<IssuanceLogEntry> log() {
            return cp.issuanceLog().list(1, 10_000);
        }

        /** The node's record as the store holds it (not the registry's in-memory index). */
        NodeEntry stored(String nodeId) {
            return new NodeStore(cp.database()).load(nodeId).orElseThrow(() -> new AssertionError(nodeId + " not stored"));
        }

        boolean storeHasNo(String nodeId) {
            return new NodeStore(cp.database()).load(nodeId).isEmpty();
        }

        Map<String, Long> registrationVersions() {
            Map<String, Long> out = new java.util.TreeMap<>();
            cp.registrations().all().forEach(r -> out.put(r.id(), r.version()));
            return out;
        }

        HttpResponse<String> admin(String method, String path, String body) throws Exception {
            return admin(method, path, body, "application/json");
        }

        HttpResponse<String> admin(String method, String path, String body, String contentType) throws Exception {
            int port = ctx.getBean(EmbeddedServer.class).getPort();
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .header("Authorization", "Bearer " + ADMIN_TOKEN).timeout(Duration.ofSeconds(30));
            if (body != null) {
                b.header("Content-Type", contentType).method(method, HttpRequest.BodyPublishers.ofString(body));
            } else {
                b.method(method, HttpRequest.BodyPublishers.noBody());
            }
            try (HttpClient c = HttpClient.newHttpClient()) {
                return c.send(b.build(), HttpResponse.BodyHandlers.ofString());
            }
        }

        Raw raw(Optional<ControlPlaneChannels.ClientIdentity> client) {
            return new Raw(ControlPlaneChannels.open(target(), cp.trustBundle(), client));
        }

        /** Challenge + Attest by hand, as a modified agent would, with {@code edit} applied to the request. */
        AttestResponse rawAttest(Optional<ControlPlaneChannels.ClientIdentity> client, String nodeId, SimulatedTee tee,
                NodeKeyPair key, java.util.function.Consumer<AttestRequest.Builder> edit) {
            try (Raw raw = raw(client)) {
                byte[] nonce = raw.stub.challenge(ChallengeRequest.newBuilder().setNodeId(nodeId).build())
                        .getNonce().toByteArray();
                AttestRequest.Builder b = Raw.request(nodeId, nonce, tee, key);
                edit.accept(b);
                return raw.stub.attest(b.build());
            }
        }

        /** Challenge with {@code token}, then Attest as the node id the control plane bound the nonce to. */
        AttestResponse rawAttestWithToken(String token, Optional<String> spiffeId) {
            try (Raw raw = raw(Optional.empty())) {
                ChallengeResponse c = raw.stub.challenge(ChallengeRequest.newBuilder().setServiceAccountToken(token).build());
                return raw.attest(c.getNodeId(), c.getNonce().toByteArray(), machine(GOOD), NodeKeyPair.generate(),
                        spiffeId);
            }
        }

        /** The chain of the {@code default} SDS secret that Envoy on {@code agent}'s node receives over ADS. */
        String sdsDefaultChain(NodeAgent agent) throws Exception {
            AgentCredentials c = agent.credentials().orElseThrow();
            ManagedChannel ch = ControlPlaneChannels.open(target(), cp.trustBundle(), agent.clientIdentity());
            try {
                LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
                StreamObserver<DiscoveryRequest> req = AggregatedDiscoveryServiceGrpc.newStub(ch)
                        .streamAggregatedResources(new StreamObserver<>() {
                            @Override
                            public void onNext(DiscoveryResponse v) {
                                events.add(v);
                            }

                            @Override
                            public void onError(Throwable t) {
                                events.add(t);
                            }

                            @Override
                            public void onCompleted() {}
                        });
                req.onNext(DiscoveryRequest.newBuilder()
                        .setNode(Node.newBuilder().setId(c.claims().getNodeId()).setCluster("attack-test"))
                        .setTypeUrl("type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret")
                        .addResourceNames("default").build());
                Object first = events.poll(10, TimeUnit.SECONDS);
                req.onCompleted();
                if (first instanceof StatusRuntimeException e) {
                    throw e;
                }
                if (!(first instanceof DiscoveryResponse r)) {
                    throw new AssertionError("no SDS response within 10 s: " + first);
                }
                for (var any : r.getResourcesList()) {
                    Secret s = any.unpack(Secret.class);
                    if (s.getName().equals("default")) {
                        return s.getTlsCertificate().getCertificateChain().getInlineString();
                    }
                }
                throw new AssertionError("no 'default' secret in " + r);
            } finally {
                ch.shutdownNow();
            }
        }

        /** ext_authz as Envoy's network filter asks with a peer certificate (plain Envoy). */
        DemoAuthzClient.Result checkCertificate(X509Certificate peer, String policies) {
            CheckResponse r = check(DemoAuthzClient.networkCheck(peer, "spiffe://" + TD + "/node/vm-destination"),
                    policies);
            return new DemoAuthzClient.Result(r.getStatus().getCode() == 0, r.getStatus().getCode(),
                    r.getStatus().getMessage());
        }

        /** ext_authz as Istio asks: the peer principal only, no certificate. */
        CheckResponse checkPrincipal(String principal, String policies) {
            return check(CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
                    .setSource(AttributeContext.Peer.newBuilder().setPrincipal(principal))
                    .setDestination(AttributeContext.Peer.newBuilder().setPrincipal(ORDERS))).build(), policies);
        }

        private CheckResponse check(CheckRequest req, String policies) {
            ManagedChannel ch = ControlPlaneChannels.open(target(), cp.trustBundle(), Optional.of(checkClient()));
            try {
                Metadata md = new Metadata();
                md.put(DemoAuthzClient.POLICY_HEADER, policies);
                return AuthorizationGrpc.newBlockingStub(ch).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md))
                        .withDeadlineAfter(10, TimeUnit.SECONDS).check(req);
            } finally {
                ch.shutdownNow();
            }
        }

        /** Opens WatchRegistry with {@code client} and returns the first event (or throws its refusal). */
        RegistryEvent watchFirstEvent(ControlPlaneChannels.ClientIdentity client) {
            ManagedChannel ch = ControlPlaneChannels.open(target(), cp.trustBundle(), Optional.of(client));
            try {
                Iterator<RegistryEvent> events = AttestationServiceGrpc.newBlockingStub(ch)
                        .withDeadlineAfter(10, TimeUnit.SECONDS)
                        .watchRegistry(WatchRegistryRequest.newBuilder().setReplicaId("attack-test").build());
                return events.next();
            } finally {
                ch.shutdownNow();
            }
        }

        private ControlPlaneChannels.ClientIdentity checkClient;

        /** The configured ext_authz client identity's certificate (issued once per control plane). */
        ControlPlaneChannels.ClientIdentity checkClient() {
            if (checkClient == null) {
                try {
                    checkClient = readIdentity(issueClient(ReservedClientCertificateIssuer.Kind.REPLICA, CHECK_CLIENT));
                } catch (Exception e) {
                    throw new IllegalStateException("issuing the ext_authz client certificate", e);
                }
            }
            return checkClient;
        }

        /** Issues an operator client certificate from the mesh CA, as POST /api/v1/ca/client-certificates does. */
        Path issueClient(ReservedClientCertificateIssuer.Kind kind, String name) throws Exception {
            KeyPair kp = p256();
            byte[] csr = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + name), kp.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())).getEncoded();
            IssuedCertificate c = ReservedClientCertificateIssuer.issue(cp.meshCa(), CsrValidator.validate(csr), kind,
                    name, Duration.ofDays(1), Clock.systemUTC());
            return writeIdentity(dir.resolve("clients").resolve(kind.name().toLowerCase() + "-" + name),
                    new ControlPlaneChannels.ClientIdentity(kp.getPrivate(), c.chain()));
        }

        /**
         * A node leaf (attestation claims extension, as admission issues them) naming {@code uri}, minted
         * directly from the mesh CA: what a node would hold if a reserved identity could ever be granted.
         */
        ControlPlaneChannels.ClientIdentity nodeLeafNaming(String uri, AttestationClaims claims) throws Exception {
            KeyPair kp = p256();
            byte[] csr = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=vm-ops"), kp.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())).getEncoded();
            IssuedCertificate c = new AttestationBoundIssuer(cp.meshCa(), Clock.systemUTC())
                    .issue(CsrValidator.validate(csr), SpiffeId.parse(uri), claims, Duration.ofHours(1));
            assertTrue(c.leaf().getNonCriticalExtensionOIDs().contains(AttestMeshOids.CLAIMS_EXTENSION));
            return new ControlPlaneChannels.ClientIdentity(kp.getPrivate(), c.chain());
        }

        /** The control plane's serving certificate, read from a TLS handshake that pins its identity. */
        X509Certificate servedCertificate() {
            AtomicReference<X509Certificate> seen = new AtomicReference<>();
            ControlPlaneTrustManager pin = ControlPlaneTrustManager.pinning(cp.trustBundle());
            X509ExtendedTrustManager recording = new RecordingTrustManager(pin, seen);
            ManagedChannel ch;
            try {
                ch = NettyChannelBuilder.forTarget(target())
                        .sslContext(GrpcSslContexts.forClient().trustManager(recording).build()).build();
            } catch (javax.net.ssl.SSLException e) {
                throw new IllegalStateException(e);
            }
            try {
                AttestationServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .challenge(ChallengeRequest.newBuilder().setNodeId("vm-handshake").build());
            } finally {
                ch.shutdownNow();
            }
            return java.util.Objects.requireNonNull(seen.get(), "no server certificate seen");
        }
    }

    /** A pod: its UID (the node id) and its agent, which reads the projected token from a file. */
    record Pod(String uid, NodeAgent agent) {}

    /** A channel to the attestation service for hand-made requests. */
    static final class Raw implements AutoCloseable {
        final ManagedChannel channel;
        final AttestationServiceGrpc.AttestationServiceBlockingStub stub;

        Raw(ManagedChannel channel) {
            this.channel = channel;
            this.stub = AttestationServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
        }

        static AttestRequest.Builder request(String nodeId, byte[] nonce, SimulatedTee tee, NodeKeyPair key) {
            byte[] evidence = tee.collect(ReportDataBinding.expected(nonce, key.subjectPublicKeyInfoDer()));
            return AttestRequest.newBuilder().setNodeId(nodeId).setTee("sim").setEvidence(ByteString.copyFrom(evidence))
                    .setCsr(ByteString.copyFrom(key.csrDer(nodeId))).setNonce(ByteString.copyFrom(nonce));
        }

        AttestResponse attest(String nodeId, byte[] nonce, SimulatedTee tee, NodeKeyPair key, Optional<String> spiffeId) {
            AttestRequest.Builder b = request(nodeId, nonce, tee, key);
            spiffeId.ifPresent(b::setSpiffeId);
            return stub.attest(b.build());
        }

        @Override
        public void close() {
            channel.shutdownNow();
        }
    }

    /** Starts a control plane on {@code store} in this test's directory (again, for a restart). */
    Plane start(Store store, Map<String, Object> extra) throws Exception {
        Path policies = Files.writeString(dir.resolve("policies.yaml"), POLICIES);
        Path registrations = Files.writeString(dir.resolve("registrations.yaml"), REGISTRATIONS);
        Path jwks = Files.writeString(dir.resolve("jwks.json"), new JWKSet(ISSUER_KEY).toPublicJWKSet().toString());
        Map<String, Object> props = new HashMap<>();
        props.put("attestmesh.data-dir", dir.resolve("cp").toString());
        props.put("attestmesh.grpc-bind", "127.0.0.1");
        props.put("attestmesh.grpc-port", 0);
        props.put("attestmesh.admin-bind", "127.0.0.1");
        props.put("attestmesh.admin-port", 0);
        props.put("attestmesh.ca-key", "identity-attack-test-ca-key");
        props.put("attestmesh.admin.token", ADMIN_TOKEN);
        props.put("attestmesh.dev-mode", true);
        // the test asks ext_authz as an operator-issued Envoy client (Check answers mesh callers only)
        props.put("attestmesh.authz.client-identities", "spiffe://" + TD + "/attestmesh/replica/" + CHECK_CLIENT);
        props.put("attestmesh.policy-file", policies.toString());
        props.put("attestmesh.registration-file", registrations.toString());
        props.put("attestmesh.kubernetes.issuer", ISSUER);
        props.put("attestmesh.kubernetes.jwks-file", jwks.toString());
        if (store == Store.POSTGRESQL) {
            if (postgresUrl == null) {
                postgresUrl = TestPostgres.freshSchema().url().orElseThrow();
            }
            props.put("attestmesh.database.url", postgresUrl);
        }
        props.putAll(extra);
        Plane p = new Plane(Micronaut.build(new String[0]).banner(false).properties(props).start());
        open.add(p);
        assertEquals(store == Store.POSTGRESQL, p.cp.settings().database().isPostgres(), "runs on " + store);
        return p;
    }

    /** The record of {@code before.nodeId()} is unchanged in the registry and in the store. */
    static void assertUnchanged(Plane p, NodeEntry before) {
        for (NodeEntry now : List.of(p.cp.registry().entry(before.nodeId()).orElseThrow(), p.stored(before.nodeId()))) {
            assertEquals(NodeState.ATTESTED, now.state());
            assertEquals(before.keySha256(), now.keySha256(), "key lineage");
            assertEquals(before.certSerialHex(), now.certSerialHex(), "certificate");
            assertEquals(before.spiffeId(), now.spiffeId(), "identity");
            assertEquals(before.registration(), now.registration(), "registration");
            assertEquals(before.attestedAt().truncatedTo(ChronoUnit.MILLIS), now.attestedAt().truncatedTo(ChronoUnit.MILLIS));
        }
    }

    static void assertTokenRefused(Plane p, String token, Status.Code code, String reason) {
        try (Raw raw = p.raw(Optional.empty())) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> raw.stub.challenge(ChallengeRequest.newBuilder().setServiceAccountToken(token).build()));
            assertStatus(e, code, reason);
            String signature = token.substring(token.lastIndexOf('.') + 1);
            assertFalse(e.getStatus().getDescription().contains(signature.substring(0, Math.min(32, signature.length()))),
                    "the refusal must not echo the token");
        }
    }

    static void assertStatus(StatusRuntimeException e, Status.Code code, String reason) {
        assertEquals(code, e.getStatus().getCode(), String.valueOf(e.getStatus()));
        assertContains(String.valueOf(e.getStatus().getDescription()), reason);
    }

    static void assertContains(String text, String part) {
        assertTrue(text.contains(part), "expected '" + part + "' in: " + text);
    }

    static String causes(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            sb.append(c).append('\n');
        }
        return sb.toString();
    }

    /** A simulated machine (random platform id) running code with {@code measurement}. */
    static SimulatedTee machine(String measurement) {
        return SimulatedTee.withMeasurementHex(measurement);
    }

    static String sha256Hex(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    static RSAKey rsaKey() {
        try {
            return new RSAKeyGenerator(2048).keyID("attack-test-" + UUID.randomUUID()).generate();
        } catch (com.nimbusds.jose.JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A projected service-account token as the kubelet gets it: RS256, bound to a pod. */
    static String token(String namespace, String serviceAccount, String podUid, Instant issuedAt, Duration lifetime,
            String audience) throws Exception {
        Map<String, Object> k8s = new LinkedHashMap<>();
        k8s.put("namespace", namespace);
        k8s.put("pod", Map.of("name", serviceAccount + "-" + podUid.substring(0, 8), "uid", podUid));
        k8s.put("serviceaccount", Map.of("name", serviceAccount, "uid", "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a"));
        JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(ISSUER).audience(List.of(audience))
                .subject("system:serviceaccount:" + namespace + ":" + serviceAccount)
                .issueTime(Date.from(issuedAt)).notBeforeTime(Date.from(issuedAt))
                .expirationTime(Date.from(issuedAt.plus(lifetime))).jwtID(UUID.randomUUID().toString())
                .claim("kubernetes.io", k8s).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(ISSUER_KEY.getKeyID()).build(),
                claims);
        jwt.sign(new RSASSASigner(ISSUER_KEY));
        return jwt.serialize();
    }

    static KeyPair p256() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    static Path writeIdentity(Path out, ControlPlaneChannels.ClientIdentity id) throws Exception {
        Files.createDirectories(out);
        Files.writeString(out.resolve("key.pem"), Pem.privateKey(id.key()));
        Files.writeString(out.resolve("cert-chain.pem"), Pem.certificates(id.chain()));
        return out;
    }

    static ControlPlaneChannels.ClientIdentity readIdentity(Path dir) throws Exception {
        String keyPem = Files.readString(dir.resolve("key.pem"));
        byte[] der = java.util.Base64.getMimeDecoder().decode(keyPem.replaceAll("-----[A-Z ]+-----", ""));
        return new ControlPlaneChannels.ClientIdentity(java.security.KeyFactory.getInstance("EC")
                .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(der)),
                Pem.parseCertificates(Files.readString(dir.resolve("cert-chain.pem"))));
    }

    /**
     * A gRPC server on loopback that presents {@code identity} (a node leaf) and would answer Challenge,
     * counting the requests that reach it.
     */
    int serveAsControlPlane(ControlPlaneChannels.ClientIdentity identity, AtomicInteger reached) throws Exception {
        Server s = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .sslContext(GrpcSslContexts.configure(SslContextBuilder.forServer(identity.key(),
                        identity.chain().toArray(X509Certificate[]::new))).build())
                .addService(new AttestationServiceGrpc.AttestationServiceImplBase() {
                    @Override
                    public void challenge(ChallengeRequest request, StreamObserver<ChallengeResponse> out) {
                        reached.incrementAndGet();
                        out.onNext(ChallengeResponse.newBuilder().setNonce(ByteString.copyFrom(new byte[32]))
                                .setNodeId(request.getNodeId()).build());
                        out.onCompleted();
                    }
                }).build().start();
        open.add(() -> s.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
        return s.getPort();
    }

    /**
     * Micronaut server TLS for the admin port (self-signed server certificate, client certificates wanted)
     * and the trust a client needs to reach it.
     */
    record TlsServer(Map<String, Object> properties, javax.net.ssl.TrustManager[] serverTrust) {
        /** An HTTPS client trusting the admin server, presenting the identity in {@code identityDir} if given. */
        HttpClient client(Optional<Path> identityDir) throws Exception {
            javax.net.ssl.KeyManager[] keys = null;
            if (identityDir.isPresent()) {
                ControlPlaneChannels.ClientIdentity id = readIdentity(identityDir.get());
                KeyStore ks = KeyStore.getInstance("PKCS12");
                ks.load(null, null);
                ks.setKeyEntry("client", id.key(), PASSWORD, id.chain().toArray(X509Certificate[]::new));
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(ks, PASSWORD);
                keys = kmf.getKeyManagers();
            }
            SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(keys, serverTrust, null);
            return HttpClient.newBuilder().sslContext(ssl).build();
        }
    }

    TlsServer adminTls(List<X509Certificate> meshBundle) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("mesh-root", meshBundle.getFirst());
        Path trustFile = storeKeyStore(trust, "admin-trust.p12");
        KeyPair serverKey = p256();
        X509Certificate serverCert = selfSigned(serverKey);
        KeyStore server = KeyStore.getInstance("PKCS12");
        server.load(null, null);
        server.setKeyEntry("server", serverKey.getPrivate(), PASSWORD, new X509Certificate[] {serverCert});
        Path keyFile = storeKeyStore(server, "admin-server.p12");
        KeyStore clientTrust = KeyStore.getInstance("PKCS12");
        clientTrust.load(null, null);
        clientTrust.setCertificateEntry("admin-server", serverCert);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(clientTrust);
        Map<String, Object> p = new HashMap<>();
        p.put("micronaut.server.ssl.enabled", true);
        p.put("micronaut.server.ssl.port", -1);
        p.put("micronaut.server.ssl.key-store.path", "file:" + keyFile);
        p.put("micronaut.server.ssl.key-store.password", new String(PASSWORD));
        p.put("micronaut.server.ssl.key-store.type", "PKCS12");
        p.put("micronaut.server.ssl.trust-store.path", "file:" + trustFile);
        p.put("micronaut.server.ssl.trust-store.password", new String(PASSWORD));
        p.put("micronaut.server.ssl.trust-store.type", "PKCS12");
        p.put("micronaut.server.ssl.client-authentication", "want");
        return new TlsServer(p, tmf.getTrustManagers());
    }

    Path storeKeyStore(KeyStore ks, String name) throws Exception {
        Path f = dir.resolve(name);
        try (OutputStream o = Files.newOutputStream(f)) {
            ks.store(o, PASSWORD);
        }
        return f;
    }

    static X509Certificate selfSigned(KeyPair kp) throws Exception {
        Instant now = Instant.now();
        X500Name name = new X500Name("CN=localhost");
        var b = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minus(1, ChronoUnit.HOURS)), Date.from(now.plus(1, ChronoUnit.DAYS)), name, kp.getPublic());
        b.addExtension(Extension.subjectAlternativeName, false,
                new GeneralNames(new GeneralName(GeneralName.dNSName, "localhost")));
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())));
    }

    /** Delegates to the control-plane pin and records the server leaf it accepted. */
    static final class RecordingTrustManager extends X509ExtendedTrustManager {
        private final ControlPlaneTrustManager pin;
        private final AtomicReference<X509Certificate> seen;

        RecordingTrustManager(ControlPlaneTrustManager pin, AtomicReference<X509Certificate> seen) {
            this.pin = pin;
            this.seen = seen;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            pin.checkServerTrusted(chain, authType, engine);
            seen.set(chain[0]);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            pin.checkServerTrusted(chain, authType, socket);
            seen.set(chain[0]);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            pin.checkServerTrusted(chain, authType);
            seen.set(chain[0]);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            pin.checkClientTrusted(chain, authType, engine);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            pin.checkClientTrusted(chain, authType, socket);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            pin.checkClientTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return pin.getAcceptedIssuers();
        }
    }
}
