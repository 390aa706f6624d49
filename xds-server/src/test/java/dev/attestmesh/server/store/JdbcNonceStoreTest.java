package dev.attestmesh.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.admission.NonceStore;
import dev.attestmesh.admission.NonceStore.Caller;
import dev.attestmesh.admission.NonceStore.Lane;
import dev.attestmesh.admission.NonceStore.Rejection;
import dev.attestmesh.admission.challenge.ChallengeLimitException;
import dev.attestmesh.admission.challenge.ChallengeLimits;
import dev.attestmesh.admission.challenge.InMemoryNonceStore;
import dev.attestmesh.identity.KubernetesIdentity;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shared nonce store as two replicas see it: two stores, each on its own connection pool, over one
 * PostgreSQL schema. Skipped (with a message) when no PostgreSQL is available.
 */
class JdbcNonceStoreTest {
    static final Duration TTL = Duration.ofMinutes(2);
    static final Caller ANON = new Caller(Lane.ANONYMOUS, "192.0.2.1");
    static final Caller RENEW = new Caller(Lane.RENEWAL, "192.0.2.1");

    static final class MutableClock extends Clock {
        volatile Instant now = Instant.parse("2026-01-01T00:00:00Z");

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }

    @TempDir
    Path dir;
    final MutableClock clock = new MutableClock();
    Database dbA;
    Database dbB;
    JdbcNonceStore a;
    JdbcNonceStore b;

    /** perNode 4, perPeer 6, 10 anonymous, 3 renewal; rates do not matter here. */
    static final ChallengeLimits LIMITS = new ChallengeLimits(4, 6, 10, 3, 1, 1, 1, 1, 1, 1);

    @BeforeEach
    void open() {
        DatabaseSettings pg = TestPostgres.freshSchema();
        dbA = Database.open(pg, dir);
        dbB = Database.open(pg, dir);
        a = new JdbcNonceStore(dbA, clock, TTL, LIMITS, false);
        b = new JdbcNonceStore(dbB, clock, TTL, LIMITS, false);
    }

    @AfterEach
    void close() {
        for (AutoCloseable c : new AutoCloseable[] {a, b, dbA, dbB}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }
    }

    @Test
    void aNonceIssuedOnOneReplicaIsConsumedOnTheOtherOnceWithItsWorkloadIdentity() {
        KubernetesIdentity pod = new KubernetesIdentity("payments", "api", "api-0", "0f9a");
        NonceStore.Issued issued = a.issue("n1", Optional.of(pod), ANON);
        assertEquals(clock.now.plus(TTL), issued.expiresAt());
        assertEquals(new NonceStore.Accepted("n1", Optional.of(pod)), b.take("n1", issued.nonce()));
        assertEquals(Rejection.UNKNOWN, a.take("n1", issued.nonce()), "replay on the issuing replica");
        assertEquals(Rejection.UNKNOWN, b.take("n1", issued.nonce()), "replay on the consuming replica");
        NonceStore.Issued plain = b.issue("n2", Optional.empty(), RENEW);
        assertEquals(new NonceStore.Accepted("n2", Optional.empty()), a.take("n2", plain.nonce()));
    }

    @Test
    void wrongNodeExpiredAndMalformedNoncesAreRefusedAndBurnt() {
        byte[] n = a.issue("n1", Optional.empty(), ANON).nonce();
        assertEquals(Rejection.OTHER_NODE, b.take("thief", n));
        assertEquals(Rejection.UNKNOWN, a.take("n1", n), "burnt by the failed attempt");
        byte[] old = a.issue("n1", Optional.empty(), ANON).nonce();
        clock.advance(TTL.plusSeconds(1));
        assertEquals(Rejection.EXPIRED, b.take("n1", old));
        assertEquals(Rejection.MALFORMED, a.take("n1", new byte[16]));
    }

    @Test
    void onlyTheNoncesHashIsStored() throws Exception {
        byte[] n = a.issue("n1", Optional.empty(), ANON).nonce();
        String hex = HexFormat.of().formatHex(n);
        try (Connection c = dbA.connection(); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT * FROM attestation_nonces")) {
            assertTrue(rs.next());
            assertEquals(JdbcNonceStore.sha256Hex(n), rs.getString("nonce_sha256"));
            for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                String v = String.valueOf(rs.getObject(i));
                assertFalse(v.toLowerCase().contains(hex), "column " + rs.getMetaData().getColumnName(i)
                        + " holds the nonce");
            }
            assertFalse(rs.next());
        }
    }

    @Test
    void concurrentConsumersOnBothReplicasGetOneAcceptance() throws Exception {
        for (int round = 0; round < 30; round++) {
            byte[] nonce = (round % 2 == 0 ? a : b).issue("n", Optional.empty(), ANON).nonce();
            CountDownLatch go = new CountDownLatch(1);
            AtomicInteger accepted = new AtomicInteger();
            ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                JdbcNonceStore store = t % 2 == 0 ? a : b;
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        go.await();
                        if (store.take("n", nonce) instanceof NonceStore.Accepted) {
                            accepted.incrementAndGet();
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                }));
            }
            go.countDown();
            for (Thread t : threads) {
                t.join(10_000);
            }
            assertTrue(errors.isEmpty(), errors.toString());
            assertEquals(1, accepted.get(), "round " + round);
        }
    }

    @Test
    void theNodeIdCapHoldsAcrossReplicasEvictingTheOldest() {
        List<byte[]> issued = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            issued.add((i % 2 == 0 ? a : b).issue("victim", Optional.empty(), new Caller(Lane.ANONYMOUS,
                    "198.51.100." + i)).nonce());
            clock.advance(Duration.ofMillis(1));
        }
        assertEquals(4, a.outstanding(Lane.ANONYMOUS));
        assertEquals(Rejection.UNKNOWN, b.take("victim", issued.get(0)));
        assertEquals(Rejection.UNKNOWN, a.take("victim", issued.get(1)));
        for (int i = 2; i < 6; i++) {
            assertInstanceOf(NonceStore.Accepted.class, (i % 2 == 0 ? b : a).take("victim", issued.get(i)));
        }
    }

    @Test
    void concurrentIssuesForOneNodeIdOnBothReplicasStayWithinTheCap() throws Exception {
        // The per-node cap is under test: the renewal lane's capacity (checked against each replica's own
        // estimate, so reached at an interleaving-dependent moment) is set out of the way.
        ChallengeLimits roomy = new ChallengeLimits(LIMITS.perNode(), 6, 10, 100, 1, 1, 1, 1, 1, 1);
        try (JdbcNonceStore ra = new JdbcNonceStore(dbA, clock, TTL, roomy, false);
                JdbcNonceStore rb = new JdbcNonceStore(dbB, clock, TTL, roomy, false)) {
            issueConcurrently(ra, rb);
        }
        assertEquals(LIMITS.perNode(), countRows("node_id = 'hot'"), "40 issues, one node id, two replicas");
    }

    private static void issueConcurrently(JdbcNonceStore a, JdbcNonceStore b) throws Exception {
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            JdbcNonceStore store = t % 2 == 0 ? a : b;
            int thread = t;
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; i < 10; i++) {
                        store.issue("hot", Optional.empty(), new Caller(Lane.RENEWAL, "203.0.113." + thread));
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }));
        }
        for (Thread t : threads) {
            t.join(30_000);
        }
        assertTrue(errors.isEmpty(), errors.toString());
    }

    @Test
    void thePeerCapHoldsAcrossReplicas() {
        for (int i = 0; i < 6; i++) {
            (i % 2 == 0 ? a : b).issue("n" + i, Optional.empty(), ANON);
        }
        ChallengeLimitException e = assertThrows(ChallengeLimitException.class,
                () -> b.issue("n9", Optional.empty(), ANON));
        assertEquals(ChallengeLimits.PER_PEER, e.limit());
        assertTrue(e.getMessage().contains("peer address 192.0.2.1 holds 6 unused challenges"), e.getMessage());
        a.issue("n9", Optional.empty(), new Caller(Lane.ANONYMOUS, "192.0.2.2")); // another peer is not affected
        clock.advance(TTL.plusSeconds(1));
        b.issue("n9", Optional.empty(), ANON); // expired ones no longer count
    }

    @Test
    void laneCapacitiesCountEveryReplicasNoncesAndRenewalsKeepTheirReserve() {
        for (int i = 0; i < 5; i++) {
            a.issue("a" + i, Optional.empty(), new Caller(Lane.ANONYMOUS, "203.0.113." + i));
        }
        b.maintain(); // B reads the count back, as its maintenance thread does every second
        for (int i = 5; i < 10; i++) {
            b.issue("a" + i, Optional.empty(), new Caller(Lane.ANONYMOUS, "203.0.113." + i));
        }
        ChallengeLimitException full = assertThrows(ChallengeLimitException.class,
                () -> b.issue("late", Optional.empty(), new Caller(Lane.ANONYMOUS, "203.0.113.99")));
        assertEquals(ChallengeLimits.MAX_OUTSTANDING, full.limit());
        byte[] renewal = a.issue("r", Optional.empty(), RENEW).nonce();
        assertInstanceOf(NonceStore.Accepted.class, b.take("r", renewal));
        assertEquals(10, a.outstanding(Lane.ANONYMOUS));
        assertEquals(0, a.outstanding(Lane.RENEWAL));
    }

    @Test
    void expiredRowsArePurged() {
        a.issue("n1", Optional.empty(), ANON);
        b.issue("n2", Optional.empty(), RENEW);
        clock.advance(Duration.ofSeconds(90));
        a.issue("n3", Optional.empty(), ANON);
        clock.advance(Duration.ofSeconds(40));
        assertEquals(2, b.purgeExpired());
        assertEquals(1, countRows("TRUE"));
        assertEquals(1, a.outstanding());
    }

    @Test
    void theH2StoreKeepsNoncesInMemory() {
        try (Database h2 = Database.embedded(dir.resolve("h2"))) {
            NonceStore store = JdbcNonceStore.forDatabase(h2, clock, TTL, LIMITS);
            assertInstanceOf(InMemoryNonceStore.class, store);
        }
        try (NonceStore shared = JdbcNonceStore.forDatabase(dbA, clock, TTL, LIMITS)) {
            assertInstanceOf(JdbcNonceStore.class, shared);
        }
    }

    private int countRows(String where) {
        try (Connection c = dbA.connection(); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(*) FROM attestation_nonces WHERE " + where)) {
            rs.next();
            return rs.getInt(1);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
