package dev.attestmesh.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.issuance.IssuanceLog;
import dev.attestmesh.issuance.IssuanceLogEntry;
import dev.attestmesh.issuance.LogVerification;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JdbcIssuanceLogStoreTest {
    static final int WRITERS = 4;
    static final int APPENDS_EACH = 25;

    @Test
    void appendsSurviveReopeningTheEmbeddedStoreAndTheChainContinues(@TempDir Path dir) {
        IssuanceLogEntry first;
        try (Database db = Database.open(DatabaseSettings.embedded(), dir)) {
            first = new IssuanceLog(new JdbcIssuanceLogStore(db)).append("01", "n1", "spiffe://td/node/n1",
                    "ab".repeat(32), List.of("default", "strict"), Instant.parse("2026-01-01T00:00:00.123456Z"));
        }
        try (Database db = Database.open(DatabaseSettings.embedded(), dir)) {
            IssuanceLog log = new IssuanceLog(new JdbcIssuanceLogStore(db));
            assertEquals(List.of(first), log.list(1, 10));
            IssuanceLogEntry second = log.append("02", "n2", "spiffe://td/node/n2", "cd".repeat(32), List.of(),
                    Instant.parse("2026-01-01T00:00:01Z"));
            assertEquals(2, second.sequence());
            assertEquals(first.hashHex(), second.previousHashHex());
            assertTrue(log.verify().intact());
        }
    }

    /** Two logs (each with its own in-process lock) on one store stand for two processes. */
    @Test
    void concurrentAppendsFromTwoLogsOnOneEmbeddedStoreStayUniqueGapFreeAndChained(@TempDir Path dir)
            throws Exception {
        try (Database db = Database.open(DatabaseSettings.embedded(), dir)) {
            IssuanceLog a = new IssuanceLog(new JdbcIssuanceLogStore(db));
            IssuanceLog b = new IssuanceLog(new JdbcIssuanceLogStore(db));
            appendConcurrently(a, b);
            assertChainOf(a, WRITERS * APPENDS_EACH);
        }
    }

    /** Two pools on one PostgreSQL schema: the store lock must hold across them, as across replicas. */
    @Test
    void concurrentAppendsFromTwoReplicasOnPostgresStayUniqueGapFreeAndChained(@TempDir Path dir) throws Exception {
        DatabaseSettings pg = TestPostgres.freshSchema();
        try (Database dbA = Database.open(pg, dir); Database dbB = Database.open(pg, dir)) {
            IssuanceLog a = new IssuanceLog(new JdbcIssuanceLogStore(dbA));
            IssuanceLog b = new IssuanceLog(new JdbcIssuanceLogStore(dbB));
            long t0 = System.nanoTime();
            appendConcurrently(a, b);
            System.out.printf("%d issuance log appends from two replicas on PostgreSQL in %d ms%n", WRITERS * APPENDS_EACH,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            assertChainOf(a, WRITERS * APPENDS_EACH);
            assertEquals(a.list(1, 1000), b.list(1, 1000), "both replicas read one log");
        }
    }

    private static void appendConcurrently(IssuanceLog a, IssuanceLog b) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(WRITERS);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int w = 0; w < WRITERS; w++) {
                IssuanceLog log = w % 2 == 0 ? a : b;
                int writer = w;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < APPENDS_EACH; i++) {
                        log.append(Integer.toHexString(writer * 1000 + i), "node-" + writer, "spiffe://td/node/node-"
                                + writer, "ef".repeat(32), List.of("default"), Instant.now());
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static void assertChainOf(IssuanceLog log, int n) {
        List<IssuanceLogEntry> all = log.list(1, n + 10);
        assertEquals(n, all.size());
        for (int i = 0; i < n; i++) {
            assertEquals(i + 1, all.get(i).sequence(), "sequence numbers are 1..n without gaps");
        }
        LogVerification v = log.verify();
        assertTrue(v.intact(), v.problem().orElse(""));
        assertEquals(n, v.entriesChecked());
    }
}
