package dev.attestmesh.quote.collateral;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.intel.IntelVectors;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class CachingCollateralProviderTest {
    /** dcap-qvl SGX collateral: TCB Info nextUpdate 2025-07-19T10:56:11Z. */
    private static QuoteCollateral sgx() throws Exception {
        return IntelVectors.dcapQvlCollateral("sgx/dcap-qvl-sgx/sgx_quote_collateral.json");
    }

    @Test
    void concurrentMissesForOneKeyAreCoalescedIntoOneFetch() throws Exception {
        CollateralProvidersTest.CountingProvider counting = new CollateralProvidersTest.CountingProvider(CollateralProvider.fixed(sgx()));
        counting.gate = new CountDownLatch(1);
        CollateralProvidersTest.MutableClock clock = new CollateralProvidersTest.MutableClock(Instant.parse("2025-07-01T00:00:00Z"));
        ExecutorService loaders = Executors.newFixedThreadPool(2);
        ExecutorService callers = Executors.newFixedThreadPool(16);
        try {
            CachingCollateralProvider cached = new CachingCollateralProvider(counting, clock, loaders);
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
        CollateralProvidersTest.MutableClock clock = new CollateralProvidersTest.MutableClock(Instant.parse("2025-07-01T00:00:00Z"));
        CachingCollateralProvider cached = new CachingCollateralProvider(counting, clock, Runnable::run);
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
    void crlsAreCachedPerCaUntilTheirNextUpdate() throws Exception {
        CollateralProvidersTest.CountingProvider counting = new CollateralProvidersTest.CountingProvider(CollateralProvider.fixed(sgx()));
        CollateralProvidersTest.MutableClock clock = new CollateralProvidersTest.MutableClock(Instant.parse("2025-07-01T00:00:00Z"));
        CachingCollateralProvider cached = new CachingCollateralProvider(counting, clock, Runnable::run);
        cached.pckCrl(PckCa.PROCESSOR);
        cached.pckCrl(PckCa.PROCESSOR);
        cached.pckCrl(PckCa.PLATFORM);
        cached.rootCaCrl();
        cached.rootCaCrl();
        assertEquals(2, counting.calls.get("crl"), "one fetch per CA");
        assertEquals(1, counting.calls.get("root"));
    }

    @Test
    void failedFetchIsNotCached() throws Exception {
        CollateralProvidersTest.CountingProvider counting = new CollateralProvidersTest.CountingProvider(CollateralProvider.none());
        CachingCollateralProvider cached = new CachingCollateralProvider(counting,
                new CollateralProvidersTest.MutableClock(Instant.parse("2025-07-01T00:00:00Z")), Runnable::run);
        assertThrows(CollateralUnavailableException.class, () -> cached.qeIdentity(TeeType.TDX));
        assertThrows(CollateralUnavailableException.class, () -> cached.qeIdentity(TeeType.TDX));
        assertEquals(2, counting.calls.get("qe"));
    }
}
