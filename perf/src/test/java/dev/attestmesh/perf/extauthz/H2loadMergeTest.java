package dev.attestmesh.perf.extauthz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** How a spread phase's per-process logs become one result. */
class H2loadMergeTest {

    /** Rows {start, status, micros} every {@code step} us from {@code start} to {@code end} (exclusive), latency {@code micros}. */
    private static long[][] rows(long start, long end, long step, long micros) {
        int n = (int) ((end - start + step - 1) / step);
        long[][] r = new long[n][];
        for (int i = 0; i < n; i++) {
            r[i] = new long[] {start + i * step, 200, micros};
        }
        return r;
    }

    @Test
    void onlyTheWindowInWhichEveryProcessSendsCounts() {
        // Process a sends from 0 to 10 s, b starts 1 s late (it was being started) and stops at 9 s; a's requests in its
        // first second and last second carry the start-up's latency, which must not be in the figures
        long[][] early = rows(0, 1_000_000, 100_000, 5_000); // 10 slow rows before b starts
        long[][] steady = rows(1_000_000, 9_000_001, 100_000, 100);
        long[][] late = rows(9_100_000, 10_000_000, 100_000, 5_000);
        long[][] a = concat(early, steady, late);
        long[][] b = rows(1_000_000, 9_000_001, 100_000, 200);
        long total = a.length + b.length;
        H2load.Result r = H2load.merged("spread", total, 20, total, 0, total, List.of(a, b));
        assertEquals(steady.length + b.length, r.logged());
        assertEquals(early.length + late.length, r.outsideWindow());
        assertTrue(r.complete(), "every request answered: the rows outside the window are counted, not lost");
        assertEquals(0.2, r.percentileMs(99), 0.001, "no start-up latency in the window's percentiles");
        assertEquals(1_000_000, r.firstStartMicros());
    }

    @Test
    void oneProcessKeepsEveryRowAndFailuresStillCount() {
        long[][] a = rows(0, 1_000_000, 1_000, 300);
        a[5] = new long[] {a[5][0], -1, 0}; // a stream that failed
        H2load.Result r = H2load.merged("burst", a.length, 1000, a.length - 1, 1, a.length - 1, List.<long[][]>of(a));
        assertEquals(a.length - 1, r.logged());
        assertEquals(0, r.outsideWindow());
        assertEquals(1, r.non2xx());
        assertFalse(r.complete());
    }

    private static long[][] concat(long[][]... parts) {
        return java.util.Arrays.stream(parts).flatMap(java.util.Arrays::stream).toArray(long[][]::new);
    }
}
