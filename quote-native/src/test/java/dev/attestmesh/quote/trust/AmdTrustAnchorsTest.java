package dev.attestmesh.quote.trust;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpServer;
import dev.attestmesh.quote.snp.AmdCertificateDecoder;
import dev.attestmesh.quote.snp.SnpProduct;
import dev.attestmesh.quote.snp.SnpSigningKey;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AmdTrustAnchorsTest {

    private static Path vectors() {
        Path p = Path.of(System.getProperty("attestmesh.vectors", "../../shared/vectors"));
        assumeTrue(Files.isDirectory(p.resolve("roots/amd")), "AMD roots not found under " + p.toAbsolutePath()
                + "; set -Dattestmesh.vectors to run these tests");
        return p;
    }

    @Test
    void loadsPinnedChainsForEveryProductAndKeyTypeFromTheVectorsDirectory() throws Exception {
        AmdTrustAnchors anchors = AmdTrustAnchors.fromDirectory(vectors().resolve("roots/amd"));
        for (SnpProduct p : SnpProduct.values()) {
            AmdTrustAnchors.AnchorChain vcek = anchors.chain(p, SnpSigningKey.VCEK);
            assertEquals(AmdTrustAnchors.PINNED_ARK_SHA256.get(p), AmdTrustAnchors.sha256Hex(vcek.ark().getEncoded()));
            assertEquals("SEV-" + p.kdsName(), AmdCertificateDecoder.commonName(vcek.intermediate().getSubjectX500Principal()));
            AmdTrustAnchors.AnchorChain vlek = anchors.chain(p, SnpSigningKey.VLEK);
            assertEquals("SEV-VLEK-" + p.kdsName(), AmdCertificateDecoder.commonName(vlek.intermediate().getSubjectX500Principal()));
        }
    }

    @Test
    void turinVcekChainsToTheTurinAskAndArk() throws Exception {
        byte[] chain = Files.readAllBytes(vectors().resolve("snp/virtee-sev-milan/cert_chain_turin"));
        AmdTrustAnchors anchors = AmdTrustAnchors.fromCertificates(AmdCertificateDecoder.decodeAll(chain));
        X509Certificate vcek = AmdCertificateDecoder.decodeAll(
                Files.readAllBytes(vectors().resolve("snp/virtee-sev-milan/vcek_turin.der"))).getFirst();
        AmdTrustAnchors.verifyAmdSignature(vcek, anchors.chain(SnpProduct.TURIN, SnpSigningKey.VCEK).intermediate());
        X509Certificate milanVcek = AmdCertificateDecoder.decodeAll(
                Files.readAllBytes(vectors().resolve("snp/virtee-sev-milan/vcek_milan.der"))).getFirst();
        assertThrows(java.security.GeneralSecurityException.class, () -> AmdTrustAnchors.verifyAmdSignature(milanVcek,
                anchors.chain(SnpProduct.TURIN, SnpSigningKey.VCEK).intermediate()));
    }

    @Test
    void refusesAnArkWhoseFingerprintIsNotThePinnedOne(@TempDir Path dir) throws Exception {
        var kpg = KeyPairGenerator.getInstance("RSA");
        kpg.initialize(2048);
        var kp = kpg.generateKeyPair();
        X500Name name = new X500Name("CN=ARK-Milan, O=Advanced Micro Devices");
        var holder = new JcaX509v3CertificateBuilder(name, BigInteger.ONE, new Date(0),
                new Date(4_000_000_000_000L), name, kp.getPublic())
                .build(new JcaContentSignerBuilder("SHA384withRSAandMGF1").setProvider(new org.bouncycastle.jce.provider.BouncyCastleProvider()).build(kp.getPrivate()));
        X509Certificate fake = new JcaX509CertificateConverter().getCertificate(holder);
        Files.write(dir.resolve("ark.der"), fake.getEncoded());
        Files.copy(vectors().resolve("roots/amd/virtee_milan_ask.pem"), dir.resolve("ask.pem"));
        AmdTrustAnchors anchors = AmdTrustAnchors.fromDirectory(dir);
        AmdTrustAnchors.AnchorException e = assertThrows(AmdTrustAnchors.AnchorException.class,
                () -> anchors.chain(SnpProduct.MILAN, SnpSigningKey.VCEK));
        assertTrue(e.rejected());
        assertTrue(e.getMessage().contains(AmdTrustAnchors.PINNED_ARK_SHA256.get(SnpProduct.MILAN)), e.getMessage());
        assertFalse(AmdTrustAnchors.isPinnedArk(SnpProduct.MILAN, fake));
    }

    @Test
    void reportsAMissingProductAsUnavailableNotRejected(@TempDir Path dir) throws Exception {
        Files.copy(vectors().resolve("roots/amd/virtee_milan_ark.pem"), dir.resolve("ark.pem"));
        Files.copy(vectors().resolve("roots/amd/virtee_milan_ask.pem"), dir.resolve("ask.pem"));
        AmdTrustAnchors anchors = AmdTrustAnchors.fromDirectory(dir);
        anchors.chain(SnpProduct.MILAN, SnpSigningKey.VCEK);
        AmdTrustAnchors.AnchorException e = assertThrows(AmdTrustAnchors.AnchorException.class,
                () -> anchors.chain(SnpProduct.GENOA, SnpSigningKey.VCEK));
        assertFalse(e.rejected());
        assertTrue(e.getMessage().contains("ARK-Genoa"), e.getMessage());
    }

    @Test
    void fetchesChainsFromKdsOncePerProductAndKeyType() throws Exception {
        Map<String, byte[]> served = new ConcurrentHashMap<>();
        served.put("/vcek/v1/Milan/cert_chain", Files.readAllBytes(vectors().resolve("snp/virtee-sev-milan/cert_chain_milan")));
        served.put("/vlek/v1/Milan/cert_chain", Files.readAllBytes(vectors().resolve("roots/amd/go-sev-guest_ask_ark_milan_vlek.pem")));
        AtomicInteger requests = new AtomicInteger();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            requests.incrementAndGet();
            byte[] body = served.get(ex.getRequestURI().getPath());
            ex.sendResponseHeaders(body == null ? 404 : 200, body == null ? -1 : body.length);
            if (body != null) {
                ex.getResponseBody().write(body);
            }
            ex.close();
        });
        server.start();
        try (HttpClient client = HttpClient.newHttpClient()) {
            URI base = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
            AmdTrustAnchors anchors = AmdTrustAnchors.fromKds(client, base, Duration.ofSeconds(5));
            anchors.chain(SnpProduct.MILAN, SnpSigningKey.VCEK);
            anchors.chain(SnpProduct.MILAN, SnpSigningKey.VCEK);
            anchors.chain(SnpProduct.MILAN, SnpSigningKey.VLEK);
            assertEquals(2, requests.get(), "each chain is fetched once");
            AmdTrustAnchors.AnchorException e = assertThrows(AmdTrustAnchors.AnchorException.class,
                    () -> anchors.chain(SnpProduct.GENOA, SnpSigningKey.VCEK));
            assertFalse(e.rejected());
            assertTrue(e.getMessage().contains("HTTP 404"), e.getMessage());
            // Reports naming Genoa again within 30 s are answered from memory: KDS is not asked again.
            for (int i = 0; i < 100; i++) {
                AmdTrustAnchors.AnchorException again = assertThrows(AmdTrustAnchors.AnchorException.class,
                        () -> anchors.chain(SnpProduct.GENOA, SnpSigningKey.VCEK));
                assertTrue(again.getMessage().contains("a recent failure"), again.getMessage());
            }
            assertEquals(3, requests.get(), "one failed Genoa fetch, remembered");
            // A KDS that serves another product's ARK under Milan's name is refused.
            served.put("/vcek/v1/Milan/cert_chain", Files.readAllBytes(vectors().resolve("snp/virtee-sev-milan/cert_chain_turin")));
            AmdTrustAnchors fresh = AmdTrustAnchors.fromKds(client, base, Duration.ofSeconds(5));
            assertThrows(AmdTrustAnchors.AnchorException.class, () -> fresh.chain(SnpProduct.MILAN, SnpSigningKey.VCEK));
        } finally {
            server.stop(0);
        }
    }

    @Test
    void pinsTheThreePublishedArkFingerprints() {
        assertEquals(List.of(SnpProduct.values()).size(), AmdTrustAnchors.PINNED_ARK_SHA256.size());
        assertEquals("69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
                AmdTrustAnchors.PINNED_ARK_SHA256.get(SnpProduct.MILAN));
    }
}
