package dev.attestmesh.admission.challenge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.admission.NonceStore;
import dev.attestmesh.admission.NonceStore.Caller;
import dev.attestmesh.admission.NonceStore.Lane;
import dev.attestmesh.admission.NonceStore.Rejection;
import dev.attestmesh.identity.KubernetesIdentity;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class InMemoryNonceStoreTest {
    static final Duration TTL = Duration.ofMinutes(2);
    static final Caller ANON = new Caller(Lane.ANONYMOUS, "192.0.2.1");
    static final Caller RENEW = new Caller(Lane.RENEWAL, "192.0.2.1");

    final FakeTime time = new FakeTime();

    /** perNode 4, perPeer 5, 8 anonymous, 3 renewal. */
    InMemoryNonceStore store() {
        return new InMemoryNonceStore(time, TTL, new ChallengeLimits(4, 5, 8, 3, 1, 1, 1, 1, 1, 1));
    }

    @Test
    void issuesThirtyTwoRandomBytesThatAreAcceptedOnceWithWhatTheyWereBoundTo() {
        InMemoryNonceStore store = store();
        KubernetesIdentity pod = new KubernetesIdentity("payments", "api", "api-0", "uid-1");
        NonceStore.Issued a = store.issue("n1", Optional.of(pod), ANON);
        NonceStore.Issued b = store.issue("n1", Optional.empty(), ANON);
        assertEquals(32, a.nonce().length);
        assertFalse(Arrays.equals(a.nonce(), b.nonce()));
        assertEquals(time.instant().plus(TTL), a.expiresAt());
        assertEquals(new NonceStore.Accepted("n1", Optional.of(pod)), store.take("n1", a.nonce()));
        assertEquals(Rejection.UNKNOWN, store.take("n1", a.nonce()), "single use");
        assertEquals(Optional.empty(), store.consume("n1", b.nonce()));
    }

    @Test
    void rejectsExpiredNonceAndNonceOfAnotherNodeAndBurnsThem() {
        InMemoryNonceStore store = store();
        byte[] old = store.issue("n1", Optional.empty(), ANON).nonce();
        byte[] other = store.issue("n1", Optional.empty(), RENEW).nonce();
        time.advance(TTL.plusSeconds(1));
        assertEquals(Rejection.EXPIRED, store.take("n1", old));
        byte[] fresh = store.issue("n1", Optional.empty(), ANON).nonce();
        assertEquals(Rejection.OTHER_NODE, store.take("n2", fresh));
        assertEquals(Rejection.UNKNOWN, store.take("n1", fresh), "burnt by the failed attempt");
        assertEquals(Rejection.EXPIRED, store.take("n1", other), "renewal nonces expire too");
        assertEquals(Rejection.MALFORMED, store.take("n1", new byte[31]));
        assertEquals(Rejection.UNKNOWN, store.take("n1", new byte[32]));
    }

    @Test
    void aNodeIdHoldsAtMostFourNoncesPerLaneAndANewOneEvictsItsOldest() {
        InMemoryNonceStore store = store();
        List<byte[]> issued = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            issued.add(store.issue("victim", Optional.empty(), ANON).nonce());
            time.advance(Duration.ofMillis(1));
        }
        assertEquals(4, store.outstanding(Lane.ANONYMOUS));
        assertEquals(Rejection.UNKNOWN, store.take("victim", issued.get(0)), "the oldest was evicted");
        for (int i = 1; i < 5; i++) {
            assertInstanceOf(NonceStore.Accepted.class, store.take("victim", issued.get(i)));
        }
    }

    @Test
    void anonymousChallengesForANodeIdCannotEvictItsRenewalNonce() {
        InMemoryNonceStore store = store();
        byte[] renewal = store.issue("victim", Optional.empty(), RENEW).nonce();
        for (int i = 0; i < 5; i++) {
            store.issue("victim", Optional.empty(), new Caller(Lane.ANONYMOUS, "198.51.100." + i));
        }
        assertEquals(new NonceStore.Accepted("victim", Optional.empty()), store.take("victim", renewal));
    }

    @Test
    void aPeerAddressHoldsAtMostItsCapButMayReplaceItsOwnNoncesForANodeId() {
        InMemoryNonceStore store = store();
        for (int i = 0; i < 5; i++) {
            store.issue("n" + i, Optional.empty(), ANON);
        }
        assertEquals(5, store.outstandingForPeer(ANON.peer()));
        ChallengeLimitException e = assertThrows(ChallengeLimitException.class,
                () -> store.issue("n9", Optional.empty(), ANON));
        assertEquals(ChallengeLimits.PER_PEER, e.limit());
        assertTrue(e.getMessage().contains("peer address 192.0.2.1 holds 5 unused challenges"), e.getMessage());
        assertTrue(e.getMessage().contains("attestmesh.challenge.max-per-peer = 5"), e.getMessage());
        // Another peer is not affected, and consuming one frees a slot.
        store.issue("n9", Optional.empty(), new Caller(Lane.ANONYMOUS, "192.0.2.2"));
        // A full node id of the same peer evicts its own oldest rather than being refused.
        InMemoryNonceStore other = new InMemoryNonceStore(time, TTL, new ChallengeLimits(2, 2, 8, 3, 1, 1, 1, 1, 1, 1));
        byte[] first = other.issue("n", Optional.empty(), ANON).nonce();
        time.advance(Duration.ofMillis(1));
        other.issue("n", Optional.empty(), ANON);
        other.issue("n", Optional.empty(), ANON);
        assertEquals(2, other.outstandingForPeer(ANON.peer()));
        assertEquals(Rejection.UNKNOWN, other.take("n", first));
    }

    @Test
    void anonymousCapacityIsBoundedAndReclaimedOnExpiryWhileRenewalsKeepTheirReserve() {
        InMemoryNonceStore store = store();
        for (int i = 0; i < 8; i++) {
            store.issue("a" + i, Optional.empty(), new Caller(Lane.ANONYMOUS, "203.0.113." + i));
        }
        ChallengeLimitException full = assertThrows(ChallengeLimitException.class,
                () -> store.issue("late", Optional.empty(), new Caller(Lane.ANONYMOUS, "203.0.113.99")));
        assertEquals(ChallengeLimits.MAX_OUTSTANDING, full.limit());
        assertTrue(full.getMessage().contains("8 unauthenticated challenges are outstanding"), full.getMessage());
        // The anonymous lane is full; renewals still get nonces from their own reserve.
        byte[] r1 = store.issue("r1", Optional.empty(), RENEW).nonce();
        store.issue("r2", Optional.empty(), RENEW);
        store.issue("r3", Optional.empty(), RENEW);
        assertEquals(ChallengeLimits.RENEWAL_RESERVE, assertThrows(ChallengeLimitException.class,
                () -> store.issue("r4", Optional.empty(), RENEW)).limit());
        assertInstanceOf(NonceStore.Accepted.class, store.take("r1", r1));
        store.issue("r4", Optional.empty(), RENEW);
        // After the TTL the anonymous lane frees up.
        time.advance(TTL.plusSeconds(1));
        assertEquals(0, store.outstanding(Lane.ANONYMOUS));
        assertEquals(32, store.issue("late", Optional.empty(), ANON).nonce().length);
        assertEquals(1, store.outstanding());
    }

    @Test
    void concurrentConsumersOfOneNonceGetOneAcceptance() throws Exception {
        InMemoryNonceStore store = new InMemoryNonceStore(time, TTL, ChallengeLimits.DEFAULTS);
        for (int round = 0; round < 200; round++) {
            byte[] nonce = store.issue("n", Optional.empty(), ANON).nonce();
            CountDownLatch go = new CountDownLatch(1);
            AtomicInteger accepted = new AtomicInteger();
            ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
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
                t.join(5_000);
            }
            assertTrue(errors.isEmpty(), errors.toString());
            assertEquals(1, accepted.get(), "round " + round);
        }
        assertEquals(0, store.outstanding());
    }

    @Test
    void holdsNoncesAsGivenBytes() {
        InMemoryNonceStore store = store();
        byte[] nonce = store.issue("n", Optional.empty(), ANON).nonce();
        byte[] copy = Arrays.copyOf(nonce, 32);
        assertArrayEquals(nonce, copy);
        assertInstanceOf(NonceStore.Accepted.class, store.take("n", copy), "looked up by value, not identity");
    }
}
