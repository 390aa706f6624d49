package dev.attestmesh.quote.collateral;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.intel.DcapQuoteVerifier;
import dev.attestmesh.quote.intel.IntelVectors;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** File and PCS providers serving the Automata TDX v4 collateral, verified end to end. */
class CollateralProvidersTest {
    private static final Instant AUTOMATA_V4_TIME = Instant.ofEpochSecond(1749095100);
    private static final String V4 = "tdx/automata-tdx-v4/";

    private static String pem(byte[] der) {
        return "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(der) + "\n-----END CERTIFICATE-----\n";
    }

    private static String signingChainPem() {
        return pem(IntelVectors.bytes("roots/automata/signingDer.der")) + pem(IntelVectors.bytes("roots/automata/rootCaDer.der"));
    }

    private static VerifiedEvidence verifyAutomataV4(CollateralProvider p) throws EvidenceVerificationException {
        // Only the root is configured: the TCB Signing certificate must come from the provider's chains.
        return DcapQuoteVerifier.create(TeeType.TDX, IntelVectors.rootOnly(), p).verify(
                VerificationRequest.of(TeeType.TDX, IntelVectors.bytes(V4 + "sampleQuote_v4.bin"), AUTOMATA_V4_TIME));
    }

    @Test
    void fileProviderServesADirectoryOfPcsFiles(@TempDir Path dir) throws Exception {
        Files.write(dir.resolve("tcbinfo-tdx-00806F050000.json"), IntelVectors.bytes(V4 + "tcbinfov3_00806f050000.json"));
        Files.write(dir.resolve("qeidentity-tdx.json"), IntelVectors.bytes(V4 + "qe_td.json"));
        Files.write(dir.resolve("pckcrl-platform.der"), IntelVectors.bytes(V4 + "platformCrl_0625.der.hex"));
        Files.write(dir.resolve("rootcacrl.der"), IntelVectors.bytes("roots/automata/rootCrlDer.der"));
        Files.writeString(dir.resolve("tcbinfo-issuer-chain.pem"), signingChainPem());
        Files.writeString(dir.resolve("qeidentity-issuer-chain.pem"), signingChainPem());
        VerifiedEvidence e = verifyAutomataV4(new FileCollateralProvider(dir));
        assertEquals(TcbStatus.OUT_OF_DATE, e.tcbStatus());
    }

    @Test
    void fileProviderWithoutTheFmspcFileIsUnavailable(@TempDir Path dir) {
        var ex = assertThrows(EvidenceVerificationException.class, () -> verifyAutomataV4(new FileCollateralProvider(dir)));
        assertEquals(VerificationCheck.COLLATERAL_UNAVAILABLE, ex.check());
    }

    /** A loopback PCS serving the vector collateral; records every request path and query. */
    private static final class LoopbackPcs implements AutoCloseable {
        final HttpServer server;
        final List<String> requests = new CopyOnWriteArrayList<>();

        LoopbackPcs() throws Exception {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            String tcbChain = URLEncoder.encode(signingChainPem(), StandardCharsets.UTF_8).replace("+", "%20");
            String crlChain = URLEncoder.encode(pem(IntelVectors.bytes("roots/automata/platformDer.der"))
                    + pem(IntelVectors.bytes("roots/automata/rootCaDer.der")), StandardCharsets.UTF_8).replace("+", "%20");
            Map<String, byte[]> bodies = Map.of(
                    "/tdx/certification/v4/tcb", IntelVectors.bytes(V4 + "tcbinfov3_00806f050000.json"),
                    "/tdx/certification/v4/qe/identity", IntelVectors.bytes(V4 + "qe_td.json"),
                    "/sgx/certification/v4/pckcrl", IntelVectors.bytes(V4 + "platformCrl_0625.der"),
                    "/sgx/certification/v4/rootcacrl", IntelVectors.bytes("roots/automata/rootCrlDer.der"));
            Map<String, String[]> headers = Map.of(
                    "/tdx/certification/v4/tcb", new String[] {"TCB-Info-Issuer-Chain", tcbChain},
                    "/tdx/certification/v4/qe/identity", new String[] {"SGX-Enclave-Identity-Issuer-Chain", tcbChain},
                    "/sgx/certification/v4/pckcrl", new String[] {"SGX-PCK-CRL-Issuer-Chain", crlChain});
            server.createContext("/", x -> {
                String path = x.getRequestURI().getPath();
                requests.add(path + (x.getRequestURI().getQuery() == null ? "" : "?" + x.getRequestURI().getQuery()));
                byte[] body = bodies.get(path);
                boolean fmspcOk = !path.endsWith("/tcb") || "fmspc=00806F050000".equals(x.getRequestURI().getQuery());
                if (body == null || !fmspcOk) {
                    x.sendResponseHeaders(404, -1);
                    x.close();
                    return;
                }
                String[] h = headers.get(path);
                if (h != null) {
                    x.getResponseHeaders().add(h[0], h[1]);
                }
                x.sendResponseHeaders(200, body.length);
                x.getResponseBody().write(body);
                x.close();
            });
            server.start();
        }

        URI base() {
            return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    @Test
    void pcsProviderFetchesEveryItemOverHttpWithIssuerChainHeaders() throws Exception {
        try (LoopbackPcs pcs = new LoopbackPcs(); HttpClient client = HttpClient.newHttpClient()) {
            VerifiedEvidence e = verifyAutomataV4(PcsCollateralProvider.pccs(pcs.base(), client));
            assertEquals(TcbStatus.OUT_OF_DATE, e.tcbStatus());
            assertTrue(pcs.requests.contains("/tdx/certification/v4/tcb?fmspc=00806F050000"), pcs.requests.toString());
            assertTrue(pcs.requests.contains("/sgx/certification/v4/pckcrl?ca=platform&encoding=der"), pcs.requests.toString());
            assertTrue(pcs.requests.contains("/tdx/certification/v4/qe/identity"));
            assertTrue(pcs.requests.contains("/sgx/certification/v4/rootcacrl"));
        }
    }

    @Test
    void pcsProviderReportsHttpErrorsAsUnavailable() throws Exception {
        try (LoopbackPcs pcs = new LoopbackPcs(); HttpClient client = HttpClient.newHttpClient()) {
            PcsCollateralProvider p = PcsCollateralProvider.pccs(pcs.base(), client);
            var ex = assertThrows(CollateralUnavailableException.class, () -> p.tcbInfo(TeeType.TDX, "00A067110000"));
            assertTrue(ex.getMessage().contains("404"), ex.getMessage());
            assertThrows(CollateralUnavailableException.class, () -> p.tcbInfo(TeeType.TDX, "../../x"));
        }
    }

    @Test
    void cachingProviderFetchesOncePerKeyAndServesPcsCollateral() throws Exception {
        try (LoopbackPcs pcs = new LoopbackPcs(); HttpClient client = HttpClient.newHttpClient()) {
            MutableClock clock = new MutableClock(Instant.parse("2025-06-05T03:45:00Z"));
            CachingCollateralProvider cached = new CachingCollateralProvider(
                    PcsCollateralProvider.pccs(pcs.base(), client), IntelVectors.rootOnly(),
                    CachingCollateralProvider.DEFAULT_MAX_BYTES, dev.attestmesh.quote.limits.FetchLimits.defaults(), clock,
                    Runnable::run);
            assertEquals(TcbStatus.OUT_OF_DATE, verifyAutomataV4(cached).tcbStatus());
            assertEquals(TcbStatus.OUT_OF_DATE, verifyAutomataV4(cached).tcbStatus());
            assertEquals(4, pcs.requests.size(), "second verification is served from the cache: " + pcs.requests);
            assertSame(cached.tcbInfo(TeeType.TDX, "00806f050000"), cached.tcbInfo(TeeType.TDX, "00806F050000"));
        }
    }

    /** A settable clock for expiry tests. */
    static final class MutableClock extends java.time.Clock {
        private volatile Instant now;

        MutableClock(Instant now) {
            this.now = now;
        }

        void set(Instant t) {
            now = t;
        }

        @Override
        public java.time.ZoneId getZone() {
            return java.time.ZoneOffset.UTC;
        }

        @Override
        public java.time.Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    /** Counts fetches per kind and can block them to force concurrent misses. */
    static final class CountingProvider implements CollateralProvider {
        final CollateralProvider inner;
        final Map<String, Integer> calls = new ConcurrentHashMap<>();
        volatile java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(0);

        CountingProvider(CollateralProvider inner) {
            this.inner = inner;
        }

        private void count(String k) {
            calls.merge(k, 1, Integer::sum);
            try {
                gate.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public SignedCollateral tcbInfo(TeeType tee, String fmspc) throws CollateralUnavailableException {
            count("tcb");
            return inner.tcbInfo(tee, fmspc);
        }

        @Override
        public SignedCollateral qeIdentity(TeeType tee) throws CollateralUnavailableException {
            count("qe");
            return inner.qeIdentity(tee);
        }

        @Override
        public PckCrl pckCrl(PckCa ca) throws CollateralUnavailableException {
            count("crl");
            return inner.pckCrl(ca);
        }

        @Override
        public RootCaCrl rootCaCrl() throws CollateralUnavailableException {
            count("root");
            return inner.rootCaCrl();
        }
    }
}
