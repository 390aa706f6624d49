package dev.attestmesh.server.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.ca.CsrValidator;
import dev.attestmesh.ca.IssuedCertificate;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.ca.ReservedClientCertificateIssuer;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ControlPlane;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.Comparator;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Admin client certificates over TLS: the admin port serves HTTPS (Micronaut server SSL, client
 * authentication wanted), and an operator-issued admin certificate ({@code spiffe://<td>/attestmesh/admin/<name>})
 * listed in {@code attestmesh.admin.cert-identities} authenticates with the listed role; node leaves and
 * replica certificates never do. The control plane is started twice: first to create the mesh CA, attest a
 * node and issue the client certificates, then with TLS trusting that CA.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdminClientCertificateTest {
    static final String GOOD = "a1".repeat(48);
    static final String ALICE = "spiffe://attestmesh.local/attestmesh/admin/alice";
    static final char[] PASSWORD = "changeit".toCharArray();

    Path dir;
    ApplicationContext ctx;
    String base;
    SSLContext serverTrust;
    /** An attested node's leaf (claims extension). */
    Path nodeAlice;
    /** The operator-issued admin certificate of alice, listed as operator. */
    Path alice;
    /** An operator-issued replica certificate: reserved, but not an admin. */
    Path replica;

    Map<String, Object> properties() {
        Map<String, Object> p = new HashMap<>();
        p.put("attestmesh.data-dir", dir.resolve("cp").toString());
        p.put("attestmesh.grpc-bind", "127.0.0.1");
        p.put("attestmesh.grpc-port", 0);
        p.put("attestmesh.admin-port", 0);
        p.put("attestmesh.dev-mode", true);
        p.put("attestmesh.ca-key", "client-cert-test-key");
        p.put("attestmesh.admin.token", "client-cert-test-token-0123456789");
        p.put("attestmesh.policy-file", dir.resolve("policies.yaml").toString());
        p.put("attestmesh.registration-file", dev.attestmesh.server.testing.TestMesh.writeRegistrations(dir).toString());
        return p;
    }

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("attestmesh-admin-tls");
        Files.writeString(dir.resolve("policies.yaml"),
                "policies:\n  - id: default\n    tee: [sim]\n    reference:\n      sim:\n        measurement: [\"" + GOOD + "\"]\n");
        try (ApplicationContext first = Micronaut.build(new String[0]).banner(false).properties(properties()).start()) {
            ControlPlane cp = first.getBean(ControlPlane.class);
            nodeAlice = attest(cp, "ops-alice");
            alice = issue(cp, ReservedClientCertificateIssuer.Kind.ADMIN, "alice");
            replica = issue(cp, ReservedClientCertificateIssuer.Kind.REPLICA, "alice");
        }
        List<X509Certificate> bundle = Pem.parseCertificates(Files.readString(dir.resolve("cp").resolve(ControlPlane.CA_BUNDLE_FILE)));
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("mesh-root", bundle.getFirst());
        Path trustFile = store(trust, "trust.p12");

        KeyPair serverKey = ecKey();
        X509Certificate serverCert = selfSigned(serverKey);
        KeyStore server = KeyStore.getInstance("PKCS12");
        server.load(null, null);
        server.setKeyEntry("server", serverKey.getPrivate(), PASSWORD, new X509Certificate[] {serverCert});
        Path keyFile = store(server, "server.p12");
        KeyStore clientTrust = KeyStore.getInstance("PKCS12");
        clientTrust.load(null, null);
        clientTrust.setCertificateEntry("admin-server", serverCert);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(clientTrust);
        serverTrust = SSLContext.getInstance("TLS");
        serverTrust.init(null, tmf.getTrustManagers(), null);

        Map<String, Object> p = properties();
        p.put("attestmesh.admin.cert-identities", ALICE + "=operator");
        p.put("micronaut.server.ssl.enabled", true);
        p.put("micronaut.server.ssl.port", -1);
        p.put("micronaut.server.ssl.key-store.path", "file:" + keyFile);
        p.put("micronaut.server.ssl.key-store.password", new String(PASSWORD));
        p.put("micronaut.server.ssl.key-store.type", "PKCS12");
        p.put("micronaut.server.ssl.trust-store.path", "file:" + trustFile);
        p.put("micronaut.server.ssl.trust-store.password", new String(PASSWORD));
        p.put("micronaut.server.ssl.trust-store.type", "PKCS12");
        p.put("micronaut.server.ssl.client-authentication", "want");
        ctx = Micronaut.build(new String[0]).banner(false).properties(p).start();
        base = "https://localhost:" + ctx.getBean(EmbeddedServer.class).getPort();
    }

    @AfterAll
    void stop() throws Exception {
        if (ctx != null) {
            ctx.close();
        }
        try (var s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    Path attest(ControlPlane cp, String id) throws Exception {
        Path out = dir.resolve("nodes").resolve(id);
        new NodeAgent(new NodeAgent.Settings(id, "127.0.0.1:" + cp.grpcPort(),
                Pem.parseCertificates(Files.readString(cp.caBundleFile())), out, Optional.empty(), Optional.empty()),
                SimulatedTee.withMeasurementHex(GOOD), Clock.systemUTC()).attestOnce();
        return out;
    }

    /** Issues a reserved client certificate from the mesh CA, as POST /api/v1/ca/client-certificates does. */
    Path issue(ControlPlane cp, ReservedClientCertificateIssuer.Kind kind, String name) throws Exception {
        KeyPair kp = ecKey();
        byte[] csr = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + name), kp.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())).getEncoded();
        IssuedCertificate c = ReservedClientCertificateIssuer.issue(cp.meshCa(), CsrValidator.validate(csr), kind, name,
                Duration.ofDays(1), Clock.systemUTC());
        Path out = Files.createDirectories(dir.resolve("clients").resolve(kind.name().toLowerCase() + "-" + name));
        Files.writeString(out.resolve("key.pem"), Pem.privateKey(kp.getPrivate()));
        Files.writeString(out.resolve("cert-chain.pem"), Pem.certificates(c.chain()));
        return out;
    }

    Path store(KeyStore ks, String name) throws Exception {
        Path f = dir.resolve(name);
        try (OutputStream o = Files.newOutputStream(f)) {
            ks.store(o, PASSWORD);
        }
        return f;
    }

    static KeyPair ecKey() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
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

    /** An HTTPS client presenting the node certificate in {@code nodeDir}, or none. */
    HttpClient client(Optional<Path> nodeDir) throws Exception {
        SSLContext ssl = serverTrust;
        if (nodeDir.isPresent()) {
            String keyPem = Files.readString(nodeDir.get().resolve("key.pem"));
            byte[] der = Base64.getMimeDecoder().decode(keyPem.replaceAll("-----[A-Z ]+-----", ""));
            PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(der));
            List<X509Certificate> chain = Pem.parseCertificates(Files.readString(nodeDir.get().resolve("cert-chain.pem")));
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("node", key, PASSWORD, chain.toArray(X509Certificate[]::new));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, PASSWORD);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("admin-server", selfSignedFromContext());
            tmf.init(trust);
            ssl = SSLContext.getInstance("TLS");
            ssl.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        }
        return HttpClient.newBuilder().sslContext(ssl).build();
    }

    X509Certificate selfSignedFromContext() throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(dir.resolve("server.p12"))) {
            ks.load(in, PASSWORD);
        }
        return (X509Certificate) ks.getCertificate("server");
    }

    int status(HttpClient c, String method, String path) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
                .method(method, method.equals("GET") ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString("{}")).build();
        return c.send(r, HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    @Test
    void listedAdminCertificateAuthenticatesWithItsRole() throws Exception {
        try (HttpClient c = client(Optional.of(alice))) {
            assertEquals(200, status(c, "GET", "/api/v1/nodes"), "operator may read");
            assertEquals(403, status(c, "POST", "/api/v1/ca/rotate-intermediate"), "operator may not rotate the CA");
            assertEquals(403, status(c, "POST", "/api/v1/ca/client-certificates"), "nor issue reserved certificates");
        }
    }

    @Test
    void nodeLeafReplicaCertificateOrNoCertificateIsUnauthenticated() throws Exception {
        try (HttpClient c = client(Optional.of(nodeAlice))) {
            assertEquals(401, status(c, "GET", "/api/v1/nodes"), "an attested node is never an admin");
        }
        try (HttpClient c = client(Optional.of(replica))) {
            assertEquals(401, status(c, "GET", "/api/v1/nodes"), "a replica certificate is not an admin certificate");
        }
        try (HttpClient c = client(Optional.empty())) {
            assertEquals(401, status(c, "GET", "/api/v1/nodes"));
            assertEquals(200, status(c, "GET", "/health"));
        }
    }

    @Test
    void certificateVerdictsWithoutHttp() throws Exception {
        AdminCertificateIdentities ids = new AdminCertificateIdentities("attestmesh.local", Map.of(ALICE, AdminRole.ADMIN),
                () -> ctx.getBean(ControlPlane.class).trustBundle(), Clock.systemUTC());
        X509Certificate genuine = leaf(alice);
        assertEquals(Optional.of(new AdminPrincipal(ALICE, ALICE, AdminRole.ADMIN)), ids.authenticate(genuine));
        assertTrue(ids.authenticate(leaf(nodeAlice)).isEmpty(), "node leaf: claims extension");
        assertTrue(ids.authenticate(leaf(replica)).isEmpty(), "replica: reserved, not a listed admin");
        KeyPair other = ecKey();
        Instant now = Instant.now();
        var b = new JcaX509v3CertificateBuilder(new X500Name(genuine.getIssuerX500Principal().getName()),
                BigInteger.TEN, Date.from(now.minusSeconds(60)), Date.from(now.plusSeconds(3600)), new X500Name("CN=forged"),
                other.getPublic());
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(
                new GeneralName(GeneralName.uniformResourceIdentifier, ALICE)));
        X509Certificate forged = new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(other.getPrivate())));
        assertTrue(ids.authenticate(forged).isEmpty(), "same names, wrong signer");
    }

    @Test
    void configuredIdentitiesMustBeReservedAdminIdentitiesOfTheTrustDomain() {
        for (String wrong : List.of("spiffe://attestmesh.local/node/ops-alice", "spiffe://attestmesh.local/ns/ops/sa/alice",
                "spiffe://attestmesh.local/attestmesh/replica/alice", "spiffe://other.example/attestmesh/admin/alice")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new AdminCertificateIdentities(
                    "attestmesh.local", Map.of(wrong, AdminRole.VIEWER), List::of, Clock.systemUTC()));
            assertTrue(e.getMessage().contains(wrong) && e.getMessage().contains("not a reserved admin identity"),
                    e.getMessage());
        }
    }

    @Test
    void startRefusesANonReservedIdentityInConfiguration() throws Exception {
        Map<String, Object> p = properties();
        p.put("attestmesh.data-dir", dir.resolve("cp-refused").toString());
        p.put("attestmesh.admin.cert-identities", "spiffe://attestmesh.local/node/ops-alice=admin");
        Exception e = assertThrows(Exception.class, () -> Micronaut.build(new String[0]).banner(false).properties(p).start());
        StringBuilder causes = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            causes.append(t.getMessage()).append('\n');
        }
        assertTrue(causes.toString().contains("spiffe://attestmesh.local/node/ops-alice")
                && causes.toString().contains("not a reserved admin identity"), causes.toString());
    }

    @Test
    void clientCertificateEndpointRefusesBadInputNamingTheProblem() throws Exception {
        KeyPair p256 = ecKey();
        String goodCsr = Pem.csr(new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=x"), p256.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(p256.getPrivate())).getEncoded());
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp384r1"));
        KeyPair p384 = g.generateKeyPair();
        String p384Csr = Pem.csr(new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=x"), p384.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(p384.getPrivate())).getEncoded());
        byte[] tampered = Base64.getMimeDecoder().decode(goodCsr.replaceAll("-----[A-Z ]+-----", ""));
        tampered[tampered.length - 5] ^= 1; // inside the signature
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("{\"kind\":\"root\",\"name\":\"a\",\"csr\":" + json(goodCsr) + "}", "must be admin or replica");
        cases.put("{\"kind\":\"admin\",\"name\":\"Bad_Name\",\"csr\":" + json(goodCsr) + "}", "must be a DNS label");
        cases.put("{\"kind\":\"admin\",\"name\":\"a\",\"csr\":" + json(goodCsr) + ",\"ttl\":\"P91D\"}", "at most P90D");
        cases.put("{\"kind\":\"admin\",\"name\":\"a\",\"csr\":" + json(goodCsr) + ",\"ttl\":\"soon\"}", "ISO-8601");
        cases.put("{\"kind\":\"admin\",\"name\":\"a\"}", "csr is required");
        cases.put("{\"kind\":\"admin\",\"name\":\"a\",\"csr\":\"hello\"}", "exactly one PEM block");
        cases.put("{\"kind\":\"admin\",\"name\":\"a\",\"csr\":" + json(p384Csr) + "}", "P-256");
        cases.put("{\"kind\":\"admin\",\"name\":\"a\",\"csr\":" + json(Pem.csr(tampered)) + "}", "signature");
        cases.put("{\"kind\":\"admin\",\"name\":\"a\",\"csr\":" + json("x".repeat(20_000)) + "}", "at most");
        try (HttpClient c = client(Optional.empty())) {
            for (var e : cases.entrySet()) {
                HttpResponse<String> r = post(c, e.getKey());
                assertEquals(400, r.statusCode(), e.getKey() + " -> " + r.body());
                assertTrue(r.body().contains(e.getValue()), e.getValue() + " not in " + r.body());
            }
            HttpResponse<String> ok = post(c, "{\"kind\":\"admin\",\"name\":\"carol\",\"csr\":" + json(goodCsr) + "}");
            assertEquals(200, ok.statusCode(), ok.body());
            assertTrue(ok.body().contains("spiffe://attestmesh.local/attestmesh/admin/carol"), ok.body());
        }
    }

    HttpResponse<String> post(HttpClient c, String body) throws Exception {
        return c.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/ca/client-certificates"))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer client-cert-test-token-0123456789")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static String json(String s) {
        return "\"" + s.replace("\n", "\\n") + "\"";
    }

    static X509Certificate leaf(Path dir) throws Exception {
        return Pem.parseCertificates(Files.readString(dir.resolve("cert-chain.pem"))).getFirst();
    }
}
