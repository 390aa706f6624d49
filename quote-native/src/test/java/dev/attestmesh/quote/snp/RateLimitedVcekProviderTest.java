package dev.attestmesh.quote.snp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.limits.FetchLimits;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RateLimitedVcekProviderTest {
    private static final VcekRequest REQUEST =
            new VcekRequest(Optional.of(SnpProduct.MILAN), SnpSigningKey.VCEK, "ab".repeat(64), 0x4405000000000002L);
    private static final FetchLimits LIMITS = new FetchLimits(1, 5, Duration.ofSeconds(30));

    @Test
    void coalescesConcurrentRequestsForOneCertificateIntoOneFetch() throws Exception {
        int callers = 16;
        AtomicInteger fetches = new AtomicInteger();
        CountDownLatch allAsking = new CountDownLatch(callers);
        VcekProvider slow = request -> {
            fetches.incrementAndGet();
            try {
                // Hold the fetch open until every caller has asked, so all of them overlap with it.
                allAsking.await(10, TimeUnit.SECONDS);
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new byte[] {1, 2, 3};
        };
        ExecutorService callerPool = Executors.newFixedThreadPool(callers);
        try {
            RateLimitedVcekProvider guarded = RateLimitedVcekProvider.create(slow, LIMITS, System::nanoTime);
            List<Future<byte[]>> results = new ArrayList<>();
            for (int i = 0; i < callers; i++) {
                results.add(callerPool.submit(() -> {
                    allAsking.countDown();
                    return guarded.fetch(REQUEST);
                }));
            }
            for (Future<byte[]> f : results) {
                assertArrayEquals(new byte[] {1, 2, 3}, f.get(20, TimeUnit.SECONDS));
            }
            // Without coalescing, 16 fetches would exceed the burst of 5 and 11 callers would fail.
            assertEquals(1, fetches.get());
            assertEquals(1, guarded.delegateCalls());
        } finally {
            callerPool.shutdownNow();
        }
    }

    @Test
    void remembersAFailedFetchForTheTtlThenAsksAgain() throws Exception {
        AtomicLong now = new AtomicLong();
        AtomicInteger fetches = new AtomicInteger();
        VcekProvider flaky = request -> {
            if (fetches.incrementAndGet() == 1) {
                throw new VcekUnavailableException("AMD KDS answered HTTP 404");
            }
            return new byte[] {9};
        };
        RateLimitedVcekProvider guarded = RateLimitedVcekProvider.create(flaky, LIMITS, now::get);
        assertEquals("AMD KDS answered HTTP 404",
                assertThrows(VcekUnavailableException.class, () -> guarded.fetch(REQUEST)).getMessage());
        var remembered = assertThrows(VcekUnavailableException.class, () -> guarded.fetch(REQUEST));
        assertTrue(remembered.getMessage().startsWith("AMD KDS answered HTTP 404 (a recent failure"), remembered.getMessage());
        assertEquals(1, fetches.get());
        now.addAndGet(Duration.ofSeconds(31).toNanos());
        assertArrayEquals(new byte[] {9}, guarded.fetch(REQUEST));
        assertEquals(2, fetches.get());
    }

    @Test
    void withoutATokenNothingIsFetchedAndTheRefusalIsNotRemembered() throws Exception {
        AtomicLong now = new AtomicLong();
        AtomicInteger fetches = new AtomicInteger();
        RateLimitedVcekProvider guarded = RateLimitedVcekProvider.create(r -> {
            fetches.incrementAndGet();
            return new byte[] {7};
        }, new FetchLimits(1, 2, Duration.ofSeconds(30)), now::get);
        guarded.fetch(REQUEST);
        guarded.fetch(REQUEST);
        var e = assertThrows(VcekUnavailableException.class, () -> guarded.fetch(REQUEST));
        assertTrue(e.getMessage().contains("rate-limited"), e.getMessage());
        assertEquals(2, fetches.get());
        assertEquals(0, guarded.rememberedFailures());
        now.addAndGet(Duration.ofMillis(1001).toNanos()); // one token refilled at 1 per second
        assertArrayEquals(new byte[] {7}, guarded.fetch(REQUEST));
        assertEquals(3, fetches.get());
    }

    @Test
    void aFloodOfDistinctUnknownChipsCausesAtMostTheBurstOfFetches() {
        AtomicInteger fetches = new AtomicInteger();
        RateLimitedVcekProvider guarded = RateLimitedVcekProvider.create(r -> {
            fetches.incrementAndGet();
            throw new VcekUnavailableException("AMD KDS has no VCEK for this chip and TCB");
        }, LIMITS, () -> 0L);
        for (int i = 0; i < 5_000; i++) {
            String chip = String.format("%0128x", i + 1);
            assertThrows(VcekUnavailableException.class, () -> guarded.fetch(
                    new VcekRequest(Optional.of(SnpProduct.MILAN), SnpSigningKey.VCEK, chip, 0x4405000000000002L)));
        }
        assertEquals(LIMITS.burst(), fetches.get());
        assertEquals(LIMITS.burst(), guarded.rememberedFailures(), "only real fetch failures are remembered");
    }
}
