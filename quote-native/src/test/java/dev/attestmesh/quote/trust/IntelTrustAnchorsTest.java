package dev.attestmesh.quote.trust;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.attestmesh.quote.intel.IntelVectors;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IntelTrustAnchorsTest {

    @Test
    void acceptsTheRootWithThePinnedFingerprint() throws Exception {
        IntelTrustAnchors a = IntelTrustAnchors.fromRootDer(IntelVectors.bytes("roots/dcap-qvl_TrustedRootCA.der"));
        assertEquals("Intel SGX Root CA", IntelTrustAnchors.commonName(a.root()));
    }

    @Test
    void refusesACertificateWithAnotherFingerprint() {
        byte[] platformCa = IntelVectors.bytes("roots/automata/platformDer.der");
        var e = assertThrows(TrustAnchorException.class, () -> IntelTrustAnchors.fromRootDer(platformCa));
        assertTrue(e.getMessage().contains("not the pinned"), e.getMessage());
    }

    @Test
    void loadsRootAndTcbSigningCertificateFromADirectory(@TempDir Path dir) throws Exception {
        Files.write(dir.resolve("root.pem"), IntelVectors.bytes("roots/go-tdx-guest_trusted_root.pem"));
        Files.write(dir.resolve("signing.der"), IntelVectors.bytes("roots/automata/signingDer.der"));
        IntelTrustAnchors a = IntelTrustAnchors.fromDirectory(dir);
        assertEquals(1, a.tcbSigningCertificates().size());
    }

    @Test
    void directoryWithoutTheRootIsRefused(@TempDir Path dir) throws Exception {
        Files.write(dir.resolve("platform.der"), IntelVectors.bytes("roots/automata/platformDer.der"));
        assertThrows(TrustAnchorException.class, () -> IntelTrustAnchors.fromDirectory(dir));
    }

    @Test
    void namedRootFileWithWrongFingerprintIsRefused(@TempDir Path dir) throws Exception {
        Files.write(dir.resolve(IntelTrustAnchors.ROOT_FILE_NAME), IntelVectors.bytes("roots/automata/signingDer.der"));
        assertThrows(TrustAnchorException.class, () -> IntelTrustAnchors.fromDirectory(dir));
    }

    @Test
    void downloadsTheRootAndChecksThePin() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        byte[] root = IntelVectors.bytes("roots/automata/rootCaDer.der");
        byte[] other = IntelVectors.bytes("roots/automata/platformDer.der");
        server.createContext("/Intel_SGX_Provisioning_Certification_RootCA.der", x -> {
            x.sendResponseHeaders(200, root.length);
            x.getResponseBody().write(root);
            x.close();
        });
        server.createContext("/evil.der", x -> {
            x.sendResponseHeaders(200, other.length);
            x.getResponseBody().write(other);
            x.close();
        });
        server.start();
        try (HttpClient client = HttpClient.newHttpClient()) {
            String base = "http://127.0.0.1:" + server.getAddress().getPort();
            IntelTrustAnchors a = IntelTrustAnchors.fromUrl(URI.create(base + "/Intel_SGX_Provisioning_Certification_RootCA.der"), client);
            assertEquals(IntelTrustAnchors.PINNED_ROOT_SHA256, IntelTrustAnchors.sha256Hex(a.root().getEncoded()));
            assertThrows(TrustAnchorException.class, () -> IntelTrustAnchors.fromUrl(URI.create(base + "/evil.der"), client));
            assertThrows(TrustAnchorException.class, () -> IntelTrustAnchors.fromUrl(URI.create(base + "/missing"), client));
        } finally {
            server.stop(0);
        }
    }
}
