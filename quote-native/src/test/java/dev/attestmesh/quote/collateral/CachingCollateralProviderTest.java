package dev.attestmesh.quote.collateral;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.intel.IntelVectors;
import dev.attestmesh.quote.limits.FetchLimits;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class CachingCollateralProviderTest {
    private static final Instant JULY = Instant.parse("2025-07-01T00:00:00Z");

    /** dcap-qvl SGX collateral (with issuer chains): TCB Info nextUpdate 2025-07-19T10:56:11Z. */
    private static QuoteCollateral sgx() throws Exception {
        return IntelVectors.dcapQvlCollateral("sgx/dcap-qvl-sgx/sgx_quote_collateral.json");
    }

    private static CachingCollateralProvider cached(CollateralProvider delegate, java.time.Clock clock, Executor executor) {
        return new CachingCollateralProvider(delegate, IntelVectors.anchors(), CachingCollateralProvider.DEFAULT_MAX_BYTES,
                FetchLimits.defaults(), clock, executor);
    }

    @Test
    void concurrentMissesForOneKeyAreCoalescedIntoOneFetch() throws Exception {
        CollateralProvidersTest.CountingProvider counting = new CollateralProvidersTest.CountingProvider(CollateralProvider.fixed(sgx()));
        counting.gate = new CountDownLatch(1);
        CollateralProvidersTest.MutableClock clock = new CollateralProvidersTest.MutableClock(JULY);
        ExecutorService loaders = Executors.newFixedThreadPool(2);
        ExecutorService callers = Executors.newFixedThreadPool(16);
        try {
            CachingCollateralProvider cached = cached(counting, clock, loaders);
            List<Future<SignedCollateral>> results = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                results.add(callers.submit(() -> cached.tcbInfo(TeeType.SGX, "00A067110000")));
            }
            Thread.sleep(200); // let every caller reach the cache while the single fetch is blocked
            counting.gate.countDown();
            SignedCollateral first = results.get(0).get(10, TimeUnit.SECONDS);
            for (Future<SignedCollateral> f : results) {
                assertSame(first, f.get(10, TimeUnit.SECONDS));
            }
            assertEquals(1, counting.calls.get("tcb"));
        } finally {
            callers.shutdownNow();
            loaders.shutdownNow();
        }
    }

    @Test
    void entryLivesUntilItsNextUpdateThenIsFetchedAgain() throws Exception {
        CollateralProvidersTest.CountingProvider counting = new CollateralProvidersTest.CountingProvider(CollateralProvider.fixed(sgx()));
        CollateralProvidersTest.MutableClock clock = new CollateralProvidersTest.MutableClock(JULY);
        CachingCollateralProvider cached = cached(counting, clock, Runnable::run);
        cached.tcbInfo(TeeType.SGX, "00A067110000");
        clock.set(Instant.parse("2025-07-19T10:56:10Z"));
        cached.tcbInfo(TeeType.SGX, "00A067110000");
        assertEquals(1, counting.calls.get("tcb"), "still before nextUpdate: served from cache");
        clock.set(Instant.parse("2025-07-19T10:56:12Z"));
        // the only source still has the same (now stale) document: fail closed, never serve it
        var e = assertThrows(CollateralUnavailableException.class, () -> cached.tcbInfo(TeeType.SGX, "00A067110000"));
        assertTrue(e.getMessage().contains("nextUpdate"), e.getMessage());
        assertTrue(counting.calls.get("tcb") >= 2, "expired entry was refetched");
    }

    @Test
    void crlsAreCachedPerCaUntilTheirNextUpdateAndMustBeTheAskedCasCrl() throws Exception {
        CollateralProvidersTest.CountingProvider counting = new CollateralProvidersTest.CountingProvider(CollateralProvider.fixed(sgx()));
        CachingCollateralProvider cached = cached(counting, new CollateralProvidersTest.MutableClock(JULY), Runnable::run);
        cached.pckCrl(PckCa.PROCESSOR);
        cached.pckCrl(PckCa.PROCESSOR);
        cached.rootCaCrl();
        cached.rootCaCrl();
        assertEquals(1, counting.calls.get("crl"), "one fetch per CA");
        assertEquals(1, counting.calls.get("root"));
        // The bundle only holds the Processor CA's CRL: served for the Platform CA it is refused, not cached.
        var e = assertThrows(CollateralUnavailableException.class, () -> cached.pckCrl(PckCa.PLATFORM));
        assertTrue(e.getMessage().contains("when asked for the Intel SGX PCK Platform CA CRL"), e.getMessage());
    }

    @Test
    void failedFetchIsRememberedForTheFailureTtlThenRetried() throws Exception {
        CollateralProvidersTest.CountingProvider counting = new CollateralProvidersTest.CountingProvider(CollateralProvider.none());
        CollateralProvidersTest.MutableClock clock = new CollateralProvidersTest.MutableClock(JULY);
        CachingCollateralProvider cached = cached(counting, clock, Runnable::run);
        assertThrows(CollateralUnavailableException.class, () -> cached.qeIdentity(TeeType.TDX));
        var again = assertThrows(CollateralUnavailableException.class, () -> cached.qeIdentity(TeeType.TDX));
        assertTrue(again.getMessage().contains("a recent failure"), again.getMessage());
        assertEquals(1, counting.calls.get("qe"), "the second request was answered from the failure memory");
        clock.set(JULY.plus(FetchLimits.DEFAULT_FAILURE_TTL).plusSeconds(1));
        assertThrows(CollateralUnavailableException.class, () -> cached.qeIdentity(TeeType.TDX));
        assertEquals(2, counting.calls.get("qe"), "after the TTL the source is asked again");
    }

    @Test
    void collateralWhoseSignatureDoesNotVerifyIsRefusedAndNeverCached() throws Exception {
        QuoteCollateral good = sgx();
        byte[] body = good.tcbInfo().body();
        body[body.length / 2] ^= 0x01; // one bit of the signed TCB Info changed
        QuoteCollateral forged = new QuoteCollateral(new SignedCollateral(body, good.tcbInfo().signature(),
                good.tcbInfo().issuerChain()), good.qeIdentity(), good.pckCrl(), good.rootCaCrl());
        CachingCollateralProvider cached = cached(CollateralProvider.fixed(forged), new CollateralProvidersTest.MutableClock(JULY),
                Runnable::run);
        var e = assertThrows(CollateralUnavailableException.class, () -> cached.tcbInfo(TeeType.SGX, "00A067110000"));
        assertTrue(e.getMessage().contains("does not verify") && e.getMessage().contains("TCB Info"), e.getMessage());
        assertEquals(0, cached.authenticatedItems(), "nothing unauthenticated is kept");
        cached.qeIdentity(TeeType.SGX); // the genuine QE Identity of the same bundle is kept
        assertEquals(1, cached.authenticatedItems());
    }

    @Test
    void pckCrlWithoutIssuerChainIsAuthenticatedWithTheCallersVerifiedCaCertificate() throws Exception {
        QuoteCollateral good = sgx();
        PckCrl bare = new PckCrl(good.pckCrl().der(), List.of());
        CollateralProvider noChain = CollateralProvider.fixed(new QuoteCollateral(good.tcbInfo(), good.qeIdentity(), bare,
                good.rootCaCrl()));
        CachingCollateralProvider cached = cached(noChain, new CollateralProvidersTest.MutableClock(JULY), Runnable::run);
        var e = assertThrows(CollateralUnavailableException.class, () -> cached.pckCrl(PckCa.PROCESSOR));
        assertTrue(e.getMessage().contains("without that CA's certificate"), e.getMessage());
        // With the CA certificate from a verified PCK chain (here: the Processor CA of the vector's chain).
        CachingCollateralProvider withCa = cached(noChain, new CollateralProvidersTest.MutableClock(JULY), Runnable::run);
        java.security.cert.X509Certificate processorCa = good.pckCrl().issuerChain().get(0);
        assertTrue(processorCa.getSubjectX500Principal().getName().contains("CN=Intel SGX PCK Processor CA"));
        assertSame(withCa.pckCrl(PckCa.PROCESSOR, processorCa), withCa.pckCrl(PckCa.PROCESSOR, processorCa));
    }

    /**
     * A flood of requests for 5,000 distinct FMSPCs (what bogus traffic could name) against a source
     * that has none of them: the source is asked at most the bucket's burst (the clock stands still),
     * every other request fails at once, and nothing is cached.
     */
    @Test
    void floodOfDistinctMissesIsBoundedByTheFetchBudget() throws Exception {
        CollateralProvidersTest.CountingProvider empty = new CollateralProvidersTest.CountingProvider(CollateralProvider.none());
        FetchLimits limits = new FetchLimits(2, 10, Duration.ofSeconds(30));
        CachingCollateralProvider cached = new CachingCollateralProvider(empty, IntelVectors.anchors(), 1 << 20, limits,
                new CollateralProvidersTest.MutableClock(JULY), Runnable::run);
        int rateLimited = 0;
        for (int i = 0; i < 5_000; i++) {
            String fmspc = HexFormat.of().formatHex(java.nio.ByteBuffer.allocate(6).putShort((short) 0).putInt(i).array());
            var e = assertThrows(CollateralUnavailableException.class, () -> cached.tcbInfo(TeeType.TDX, fmspc));
            if (e.getMessage().contains("rate-limited")) {
                rateLimited++;
            }
        }
        assertEquals(10, empty.calls.get("tcb"), "the burst, and not one fetch more while the clock stands still");
        assertEquals(4_990, rateLimited);
        assertEquals(0, cached.authenticatedItems());
        // What remains are the ten remembered failures, a few hundred bytes each.
        assertTrue(cached.cachedBytes() < 10 * 1024, cached.cachedBytes() + " bytes");
    }

    /**
     * Genuine TCB Infos of seven FMSPCs (every one in the vectors), together far more than the bound:
     * the cache never holds more than its bound, and evicts to stay there.
     */
    @Test
    void cacheStaysUnderItsByteBound() throws Exception {
        java.util.Map<String, SignedCollateral> byFmspc = new java.util.LinkedHashMap<>();
        for (QuoteCollateral c : List.of(sgx(),
                IntelVectors.dcapQvlCollateral("tdx/dcap-qvl-tdx/tdx_quote_collateral.json"),
                IntelVectors.dcapQvlCollateral("tdx/dcap-qvl-tdx-near/quote_collateral.json"),
                IntelVectors.pcsCollateral("tdx/automata-tdx-v4/tcbinfov3_00806f050000.json", "tdx/automata-tdx-v4/qe_td.json",
                        "tdx/automata-tdx-v4/platformCrl_0625.der", "roots/automata/rootCrlDer.der"),
                IntelVectors.pcsCollateral("tdx/automata-tdx-v5/tcbinfov3_90C06F000000.json", "tdx/automata-tdx-v5/qe_td.json",
                        "tdx/automata-tdx-v5/platformCrl_0625.der", "roots/automata/rootCrlDer.der"),
                IntelVectors.pcsCollateral("sgx/automata-sgx-v3/sgx_tcbinfov3_00606a000000.json",
                        "sgx/automata-sgx-v3/sgx_qeidentity_v4.json", "sgx/automata-sgx-v3/platform_crl_0825.der",
                        "roots/automata/rootCrlDer.der"),
                IntelVectors.pcsCollateral("tdx/trustee/tcbInfo.json", "tdx/trustee/enclaveIdentity.json",
                        "tdx/automata-tdx-v4/platformCrl_0625.der", "roots/automata/rootCrlDer.der"))) {
            byFmspc.put(TcbInfo.parse(c.tcbInfo().body()).fmspc().toUpperCase(java.util.Locale.ROOT), c.tcbInfo());
        }
        assertEquals(7, byFmspc.size());
        AtomicInteger sourceCalls = new AtomicInteger();
        CollateralProvider source = new CollateralProvider() {
            @Override
            public SignedCollateral tcbInfo(TeeType tee, String fmspc) throws CollateralUnavailableException {
                sourceCalls.incrementAndGet();
                SignedCollateral c = byFmspc.get(fmspc);
                if (c == null) {
                    throw new CollateralUnavailableException("no TCB Info for " + fmspc);
                }
                return c;
            }

            @Override
            public SignedCollateral qeIdentity(TeeType tee) throws CollateralUnavailableException {
                throw new CollateralUnavailableException("only TCB Info here");
            }

            @Override
            public PckCrl pckCrl(PckCa ca) throws CollateralUnavailableException {
                throw new CollateralUnavailableException("only TCB Info here");
            }

            @Override
            public RootCaCrl rootCaCrl() throws CollateralUnavailableException {
                throw new CollateralUnavailableException("only TCB Info here");
            }
        };
        long bound = 32 << 10;
        // Before every document's nextUpdate (the earliest, dcap-qvl's, is 2025-07-19).
        CachingCollateralProvider cached = new CachingCollateralProvider(source, IntelVectors.anchors(), bound,
                new FetchLimits(1000, 10_000, Duration.ofSeconds(30)),
                new CollateralProvidersTest.MutableClock(Instant.parse("2025-07-01T00:00:00Z")), Runnable::run);
        long total = 0;
        for (String fmspc : byFmspc.keySet()) {
            SignedCollateral c = byFmspc.get(fmspc);
            total += c.body().length;
            cached.tcbInfo(TeeType.TDX, fmspc);
            assertTrue(cached.cachedBytes() <= bound, cached.cachedBytes() + " > " + bound);
        }
        assertTrue(cached.cachedBytes() > 0);
        int before = sourceCalls.get();
        for (String fmspc : byFmspc.keySet()) {
            cached.tcbInfo(TeeType.TDX, fmspc);
            assertTrue(cached.cachedBytes() <= bound, cached.cachedBytes() + " > " + bound);
        }
        assertTrue(sourceCalls.get() > before, "some FMSPCs were evicted to stay under the bound (bodies alone: "
                + total + " bytes, weighed with their chains)");
    }
}
