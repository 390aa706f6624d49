package dev.attestmesh.quote.snp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
import org.junit.jupiter.api.Test;

class CachingVcekProviderTest {
    private static final VcekRequest REQUEST =
            new VcekRequest(Optional.of(SnpProduct.MILAN), SnpSigningKey.VCEK, "ab".repeat(64), 0x4405000000000002L);

    @Test
    void coalescesConcurrentMissesIntoOneFetch() throws Exception {
        int callers = 16;
        AtomicInteger fetches = new AtomicInteger();
        CountDownLatch allAsking = new CountDownLatch(callers);
        VcekProvider slow = request -> {
            fetches.incrementAndGet();
            try {
                // Hold the fetch open until every caller has asked, so all of them miss together.
                allAsking.await(10, TimeUnit.SECONDS);
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new byte[] {1, 2, 3};
        };
        ExecutorService fetchPool = Executors.newFixedThreadPool(2);
        ExecutorService callerPool = Executors.newFixedThreadPool(callers);
        try {
            CachingVcekProvider cache = CachingVcekProvider.create(slow, 100, Duration.ofHours(1), fetchPool);
            List<Future<byte[]>> results = new ArrayList<>();
            for (int i = 0; i < callers; i++) {
                results.add(callerPool.submit(() -> {
                    allAsking.countDown();
                    return cache.fetch(REQUEST);
                }));
            }
            for (Future<byte[]> f : results) {
                assertArrayEquals(new byte[] {1, 2, 3}, f.get(20, TimeUnit.SECONDS));
            }
            assertEquals(1, fetches.get());
            assertEquals(1, cache.size());
        } finally {
            callerPool.shutdownNow();
            fetchPool.shutdownNow();
        }
    }

    @Test
    void doesNotCacheAFailedFetch() throws Exception {
        AtomicInteger fetches = new AtomicInteger();
        VcekProvider flaky = request -> {
            if (fetches.incrementAndGet() == 1) {
                throw new VcekUnavailableException("KDS rate-limited");
            }
            return new byte[] {9};
        };
        CachingVcekProvider cache = CachingVcekProvider.create(flaky, 100, Duration.ofHours(1), Runnable::run);
        VcekUnavailableException e = assertThrows(VcekUnavailableException.class, () -> cache.fetch(REQUEST));
        assertEquals("KDS rate-limited", e.getMessage());
        assertArrayEquals(new byte[] {9}, cache.fetch(REQUEST));
        assertArrayEquals(new byte[] {9}, cache.fetch(REQUEST));
        assertEquals(2, fetches.get());
    }

    @Test
    void keysByChipAndTcb() throws Exception {
        AtomicInteger fetches = new AtomicInteger();
        CachingVcekProvider cache = CachingVcekProvider.create(r -> new byte[] {(byte) fetches.incrementAndGet()},
                100, Duration.ofHours(1), Runnable::run);
        cache.fetch(REQUEST);
        cache.fetch(new VcekRequest(REQUEST.product(), REQUEST.keyType(), REQUEST.chipIdHex(), 0x4405000000000003L));
        cache.fetch(new VcekRequest(REQUEST.product(), REQUEST.keyType(), "cd".repeat(64), REQUEST.reportedTcbRaw()));
        cache.fetch(REQUEST);
        assertEquals(3, fetches.get());
    }
}
