package dev.attestmesh.quote.snp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.limits.FetchLimits;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.security.KeyPairGenerator;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.security.auth.x500.X500Principal;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** AMD CRLs from a loopback server laid out like KDS, through the cache into the SNP verifier. */
class KdsAmdCrlProviderTest {
    private static final Instant AT = Instant.parse("2025-06-01T00:00:00Z");
    private final Map<String, byte[]> served = new ConcurrentHashMap<>();
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private HttpServer server;
    private HttpClient client;
    private URI base;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            String target = ex.getRequestURI().toString();
            requests.add(target);
            byte[] body = served.get(target);
            ex.sendResponseHeaders(body == null ? 404 : 200, body == null ? -1 : body.length);
            if (body != null) {
                ex.getResponseBody().write(body);
            }
            ex.close();
        });
        server.start();
        client = HttpClient.newHttpClient();
        base = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    @AfterEach
    void stop() {
        client.close();
        server.stop(0);
    }

    private KdsAmdCrlProvider kds() {
        return KdsAmdCrlProvider.create(client, base, Duration.ofSeconds(10));
    }

    @Test
    void fetchesByProductAndKeyKindAndRefusesOversizedOrMissingCrls() throws Exception {
        byte[] crl = new byte[] {1, 2, 3};
        served.put("/vcek/v1/Milan/crl", crl);
        served.put("/vlek/v1/Genoa/crl", new byte[AmdCrl.MAX_BYTES + 1]);
        assertArrayEquals(crl, kds().crl(SnpProduct.MILAN, SnpSigningKey.VCEK).orElseThrow());
        assertTrue(assertThrows(VcekUnavailableException.class, () -> kds().crl(SnpProduct.GENOA, SnpSigningKey.VLEK))
                .getMessage().contains("larger than"));
        assertTrue(assertThrows(VcekUnavailableException.class, () -> kds().crl(SnpProduct.TURIN, SnpSigningKey.VCEK))
                .getMessage().contains("HTTP 404"));
        assertEquals(List.of("/vcek/v1/Milan/crl", "/vlek/v1/Genoa/crl", "/vcek/v1/Turin/crl"), requests);
    }

    @Test
    void aKdsCrlNotSignedByThePinnedArkIsRefusedAndFetchedOnlyOnce() throws Exception {
        X500Principal realArk = SnpVectors.anchors().chain(SnpProduct.MILAN, SnpSigningKey.VCEK).ark().getSubjectX500Principal();
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        served.put("/vcek/v1/Milan/crl", AmdCrlTest.crl(realArk, g.generateKeyPair(), "SHA384WITHRSAANDMGF1",
                AT.minusSeconds(60), AT.plus(Duration.ofDays(30))));
        CachingAmdCrlProvider cached = new CachingAmdCrlProvider(kds(), FetchLimits.defaults(),
                Clock.fixed(AT, java.time.ZoneOffset.UTC), System::nanoTime);
        SnpReportVerifier v = SnpReportVerifier.create(SnpVectors.anchors(), VcekProvider.none(),
                SnpVerifierOptions.none().withCrls(cached));
        for (int i = 0; i < 2; i++) {
            EvidenceVerificationException e = assertThrows(EvidenceVerificationException.class, () -> v.verify(
                    new VerificationRequest(TeeType.SNP, SnpVectors.read("snp/go-sev-guest-milan/attestation.bin"),
                            Optional.of(SnpVectors.read("snp/go-sev-guest-milan/vcek.testcer")), AT)));
            assertEquals(VerificationCheck.AMD_CRL, e.check());
        }
        assertEquals(1, requests.size());
    }
}
