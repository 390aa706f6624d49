package dev.attestmesh.quote.snp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.trust.AmdTrustAnchors;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The KDS provider against a loopback server that serves the vectors' certificates like AMD KDS. */
class KdsVcekProviderTest {
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

    private static String goSevGuestChip() {
        return "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d";
    }

    @Test
    void fetchesTheVcekByHwIdAndSplsAndTheVerifierAcceptsIt() throws Exception {
        byte[] vcek = SnpVectors.read("snp/go-sev-guest-milan/vcek.testcer");
        served.put("/vcek/v1/Milan/" + goSevGuestChip() + "?blSPL=2&teeSPL=0&snpSPL=5&ucodeSPL=68", vcek);
        served.put("/vcek/v1/Milan/cert_chain", SnpVectors.read("snp/go-sev-guest-milan/milan.testcer"));
        KdsVcekProvider kds = KdsVcekProvider.create(client, base, Duration.ofSeconds(5));
        SnpReportVerifier verifier = SnpReportVerifier.create(
                AmdTrustAnchors.fromKds(client, base, Duration.ofSeconds(5)), RateLimitedVcekProvider.create(kds));
        byte[] report = SnpVectors.read("snp/go-sev-guest-milan/attestation.bin");
        VerifiedEvidence e = verifier.verify(VerificationRequest.of(TeeType.SNP, report, AT));
        assertEquals(Optional.of(goSevGuestChip()), e.fmspcOrChip());
        verifier.verify(VerificationRequest.of(TeeType.SNP, report, AT));
        assertEquals(2, requests.size(), "one VCEK fetch and one cert_chain fetch, both cached: " + requests);
        assertArrayEquals(vcek, kds.fetch(VcekRequest.forReport(SnpReport.parse(report))));
    }

    @Test
    void triesMilanThenGenoaForVersion2ReportsAndOnlyTheNamedProductForVersion3() throws Exception {
        byte[] genoaVcek = SnpVectors.read("snp/trustee-azure-genoa/vcek-genoa.pem");
        SnpReport genoaReport = SnpReport.parse(SnpVectors.read("snp/trustee-azure-genoa/snp-report-genoa.DERIVED.bin"));
        VcekRequest named = VcekRequest.forReport(genoaReport);
        String hwid = named.chipIdHex();
        served.put("/vcek/v1/Genoa/" + hwid + "?blSPL=10&teeSPL=0&snpSPL=23&ucodeSPL=84", genoaVcek);
        KdsVcekProvider kds = KdsVcekProvider.create(client, base, Duration.ofSeconds(5));
        assertArrayEquals(genoaVcek, kds.fetch(named));
        assertEquals(1, requests.size());
        VcekRequest unnamed = new VcekRequest(Optional.empty(), SnpSigningKey.VCEK, hwid, named.reportedTcbRaw());
        assertArrayEquals(genoaVcek, kds.fetch(unnamed));
        assertTrue(requests.get(1).startsWith("/vcek/v1/Milan/"), requests.toString());
        assertTrue(requests.get(2).startsWith("/vcek/v1/Genoa/"), requests.toString());
    }

    @Test
    void reportsEveryProductTriedWhenKdsHasNoCertificate() {
        KdsVcekProvider kds = KdsVcekProvider.create(client, base, Duration.ofSeconds(5));
        VcekRequest r = new VcekRequest(Optional.empty(), SnpSigningKey.VCEK, "ab".repeat(64), 0x4405000000000002L);
        VcekUnavailableException e = assertThrows(VcekUnavailableException.class, () -> kds.fetch(r));
        assertTrue(e.getMessage().contains("Milan (HTTP 404)") && e.getMessage().contains("Genoa (HTTP 404)"), e.getMessage());
    }

    @Test
    void refusesVleksAndMaskedChipIdsWithoutAskingKds() {
        KdsVcekProvider kds = KdsVcekProvider.create(client, base, Duration.ofSeconds(5));
        assertThrows(VcekUnavailableException.class, () -> kds.fetch(
                new VcekRequest(Optional.of(SnpProduct.MILAN), SnpSigningKey.VLEK, "00".repeat(64), 0)));
        assertThrows(VcekUnavailableException.class, () -> kds.fetch(
                new VcekRequest(Optional.of(SnpProduct.MILAN), SnpSigningKey.VCEK, "00".repeat(64), 0)));
        assertEquals(List.of(), requests);
    }

    @Test
    void buildsTurinUrisWithFmcSplAndAnEightByteHwId() {
        KdsVcekProvider kds = KdsVcekProvider.create(client, URI.create("https://kdsintf.amd.com/"), Duration.ofSeconds(5));
        VcekRequest turin = new VcekRequest(Optional.of(SnpProduct.TURIN), SnpSigningKey.VCEK,
                "1e550a8ee5cf9f4d" + "77".repeat(56), 0x0900000000000000L);
        assertEquals("https://kdsintf.amd.com/vcek/v1/Turin/1e550a8ee5cf9f4d?fmcSPL=0&blSPL=0&teeSPL=0&snpSPL=0&ucodeSPL=9",
                kds.uri(turin, SnpProduct.TURIN).toString());
    }
}
