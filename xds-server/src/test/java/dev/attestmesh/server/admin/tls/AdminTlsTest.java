package dev.attestmesh.server.admin.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ControlPlane;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code attestmesh.admin.tls=on}: the admin API serves HTTPS with the control plane's own mesh CA certificate
 * (server-names plus the reserved control-plane SPIFFE ID), follows its renewal, still demands a token or a
 * listed admin certificate, and leaves the health probes open.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdminTlsTest {
    static final String GOOD = "a1".repeat(48);
    static final String TOKEN = "admin-tls-test-token-0123456789abcdef";

    Path dir;
    ApplicationContext ctx;
    ControlPlane cp;
    int port;
    Path node;

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("attestmesh-admin-tls-on");
        Files.writeString(dir.resolve("policies.yaml"),
                "policies:\n  - id: default\n    tee: [sim]\n    reference:\n      sim:\n        measurement: [\"" + GOOD + "\"]\n");
        Map<String, Object> p = new HashMap<>();
        p.put("attestmesh.data-dir", dir.resolve("cp").toString());
        p.put("attestmesh.grpc-bind", "127.0.0.1");
        p.put("attestmesh.grpc-port", 0);
        p.put("attestmesh.admin-port", 0);
        p.put("attestmesh.dev-mode", true);
        p.put("attestmesh.ca-key", "admin-tls-test-key");
        p.put("attestmesh.admin.token", TOKEN);
        p.put("attestmesh.admin.tls", "on");
        p.put("attestmesh.server-names", "localhost,127.0.0.1,attestmesh.attestmesh-system.svc");
        p.put("attestmesh.policy-file", dir.resolve("policies.yaml").toString());
        p.put("attestmesh.registration-file", dev.attestmesh.server.testing.TestMesh.writeRegistrations(dir).toString());
        ctx = Micronaut.build(new String[0]).banner(false).properties(p).start();
        cp = ctx.getBean(ControlPlane.class);
        port = ctx.getBean(EmbeddedServer.class).getPort();
        node = dir.resolve("nodes").resolve("ops-alice");
        new NodeAgent(new NodeAgent.Settings("ops-alice", "127.0.0.1:" + cp.grpcPort(),
                Pem.parseCertificates(Files.readString(cp.caBundleFile())), node, Optional.empty(), Optional.empty()),
                SimulatedTee.withMeasurementHex(GOOD), Clock.systemUTC()).attestOnce();
    }

    @AfterAll
    void stop() throws IOException {
        if (ctx != null) {
            ctx.close();
        }
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    @Test
    void servesTheControlPlaneCertificateWithServerNamesAndTheReservedSpiffeId() throws Exception {
        Recording trust = new Recording(cp.trustBundle());
        HttpResponse<String> r = get(client(trust, null), "/health/live", null);
        assertEquals(200, r.statusCode());
        X509Certificate leaf = trust.leaves.getLast();
        assertEquals(cp.servingCertificate().certificate(), leaf, "the admin listener presents the serving certificate");
        List<String> sans = sans(leaf);
        assertTrue(sans.contains("6:spiffe://attestmesh.local/attestmesh/control-plane"), sans.toString());
        assertTrue(sans.contains("2:attestmesh.attestmesh-system.svc"), sans.toString());
        assertTrue(sans.contains("2:localhost"), sans.toString());
        assertTrue(sans.contains("7:127.0.0.1"), sans.toString());
    }

    @Test
    void plainHttpOnTheTlsPortGetsNoAnswer() {
        HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/live"))
                .timeout(Duration.ofSeconds(5)).build();
        boolean refused;
        try {
            refused = plain.send(req, HttpResponse.BodyHandlers.ofString()).statusCode() != 200;
        } catch (IOException e) {
            refused = true;
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        assertTrue(refused, "plain HTTP must not be served on the TLS admin port");
    }

    @Test
    void aClientThatDoesNotTrustTheMeshCaCannotConnect() throws Exception {
        SSLContext jdkDefault = SSLContext.getDefault();
        HttpClient c = HttpClient.newBuilder().sslContext(jdkDefault).connectTimeout(Duration.ofSeconds(5)).build();
        assertThrows(SSLHandshakeException.class, () -> get(c, "/health/live", null));
    }

    @Test
    void adminApiOverTlsStillRequiresATokenOrAListedAdminCertificate() throws Exception {
        HttpClient anonymous = client(new Recording(cp.trustBundle()), null);
        assertEquals(401, get(anonymous, "/api/v1/nodes", null).statusCode(), "no credentials");
        assertEquals(401, get(anonymous, "/api/v1/nodes", "not-the-token-0123456789abcdef0123").statusCode(),
                "a wrong token");
        HttpClient asNode = client(new Recording(cp.trustBundle()), node);
        HttpResponse<String> byNode = get(asNode, "/api/v1/nodes", null);
        assertTrue(byNode.statusCode() == 401 || byNode.statusCode() == 403,
                "an attested node's certificate is not an admin identity: " + byNode.statusCode());
        assertEquals(200, get(anonymous, "/api/v1/nodes", TOKEN).statusCode(), "the token works over TLS");
    }

    @Test
    void healthProbesAreOpenAndReadinessIsUpWhenStoreAndCaAreFine() throws Exception {
        HttpClient c = client(new Recording(cp.trustBundle()), null);
        HttpResponse<String> ready = get(c, "/health/ready", null);
        assertEquals(200, ready.statusCode(), ready.body());
        assertTrue(ready.body().contains("\"status\":\"UP\""), ready.body());
        assertEquals(200, get(c, "/health", null).statusCode());
    }

    @Test
    void aNewConnectionAfterRenewalSeesTheNewCertificateWhileTheOldOneWasStillValid() throws Exception {
        Recording before = new Recording(cp.trustBundle());
        assertEquals(200, get(client(before, null), "/health/live", null).statusCode());
        X509Certificate old = before.leaves.getLast();

        cp.rotateIntermediate(Duration.ofDays(7)); // renews the serving certificate from the new intermediate
        X509Certificate renewed = cp.servingCertificate().certificate();
        assertNotEquals(old.getSerialNumber(), renewed.getSerialNumber());
        assertTrue(old.getNotAfter().toInstant().isAfter(Instant.now()), "renewed before the old one expired");

        X509Certificate seen = null;
        for (int i = 0; i < 50; i++) { // the listener rebuilds its TLS context asynchronously
            Recording after = new Recording(cp.trustBundle());
            assertEquals(200, get(client(after, null), "/health/live", null).statusCode());
            seen = after.leaves.getLast();
            if (seen.getSerialNumber().equals(renewed.getSerialNumber())) {
                break;
            }
            Thread.sleep(100);
        }
        assertEquals(renewed.getSerialNumber(), seen.getSerialNumber(), "a new handshake presents the renewed certificate");
        assertEquals(cp.meshCa().issuingIntermediate().getSubjectX500Principal(), seen.getIssuerX500Principal());
        assertFalse(seen.getPublicKey().equals(old.getPublicKey()), "a new key with the renewal");
    }

    HttpResponse<String> get(HttpClient c, String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://localhost:" + port + path))
                .timeout(Duration.ofSeconds(10));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return c.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** An HTTPS client trusting the mesh bundle (hostname checked), presenting the node certificate in {@code nodeDir}. */
    static HttpClient client(Recording trust, Path nodeDir) throws Exception {
        KeyManager[] keys = null;
        if (nodeDir != null) {
            List<X509Certificate> chain = Pem.parseCertificates(Files.readString(nodeDir.resolve("cert-chain.pem")));
            String pem = Files.readString(nodeDir.resolve("key.pem")).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
            PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(pem)));
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("node", key, "x".toCharArray(), chain.toArray(X509Certificate[]::new));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, "x".toCharArray());
            keys = kmf.getKeyManagers();
        }
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(keys, new javax.net.ssl.TrustManager[] {trust}, null);
        return HttpClient.newBuilder().sslContext(ssl).connectTimeout(Duration.ofSeconds(5)).build();
    }

    static List<String> sans(X509Certificate c) throws Exception {
        List<String> out = new ArrayList<>();
        Collection<List<?>> all = c.getSubjectAlternativeNames();
        for (List<?> san : all) {
            out.add(san.get(0) + ":" + san.get(1));
        }
        return out;
    }

    /** Trusts the mesh bundle (PKIX) and records the leaf each handshake presented. */
    static final class Recording implements X509TrustManager {
        final List<X509Certificate> leaves = new CopyOnWriteArrayList<>();
        private final X509TrustManager pkix;

        Recording(List<X509Certificate> bundle) throws Exception {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            for (int i = 0; i < bundle.size(); i++) {
                ks.setCertificateEntry("mesh-" + i, bundle.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(ks);
            pkix = (X509TrustManager) tmf.getTrustManagers()[0];
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
            throw new UnsupportedOperationException("client side only");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws java.security.cert.CertificateException {
            pkix.checkServerTrusted(chain, authType);
            leaves.add(chain[0]);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return pkix.getAcceptedIssuers();
        }
    }
}
