package dev.attestmesh.admission.challenge;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.admission.NonceStore.Caller;
import dev.attestmesh.admission.NonceStore.Lane;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ChallengeRateLimiterTest {
    final FakeTime time = new FakeTime();

    /** Per peer 2/s burst 3; all anonymous 10/s burst 5; renewals 1/s burst 2 per node id. */
    final ChallengeLimits limits = new ChallengeLimits(4, 100, 1000, 1000, 2, 3, 10, 5, 1, 2);
    final ChallengeRateLimiter limiter = new ChallengeRateLimiter(limits, time, Runnable::run);

    static Caller anon(String peer) {
        return new Caller(Lane.ANONYMOUS, peer);
    }

    int admitted(String node, Caller caller, int attempts) {
        int ok = 0;
        for (int i = 0; i < attempts; i++) {
            try {
                limiter.acquire(node, caller);
                ok++;
            } catch (ChallengeLimitException e) {
                // counted by the caller
            }
        }
        return ok;
    }

    @Test
    void aPeerGetsItsBurstThenItsRate() {
        assertEquals(3, admitted("n", anon("192.0.2.1"), 10));
        ChallengeLimitException e = assertThrows(ChallengeLimitException.class,
                () -> limiter.acquire("n", anon("192.0.2.1")));
        assertEquals(ChallengeLimits.PEER_RATE, e.limit());
        assertTrue(e.getMessage().contains("rate limit for peer address 192.0.2.1 reached "
                + "(attestmesh.challenge.peer-rate = 2/s, attestmesh.challenge.peer-burst = 3)"), e.getMessage());
        time.advance(Duration.ofMillis(500));
        assertEquals(1, admitted("n", anon("192.0.2.1"), 5), "one token after half a second at 2/s");
        time.advance(Duration.ofSeconds(60));
        assertEquals(3, admitted("n", anon("192.0.2.1"), 10), "refills up to the burst, not beyond");
    }

    @Test
    void aFloodingPeerDoesNotSpendTheSharedBucketAndTheSharedBucketBoundsAllPeers() {
        // The flooding peer's refused calls take nothing from the shared bucket: 3 admitted, 2 left.
        assertEquals(3, admitted("n", anon("192.0.2.1"), 1000));
        assertEquals(2, admitted("n", anon("192.0.2.2"), 1000));
        ChallengeLimitException e = assertThrows(ChallengeLimitException.class,
                () -> limiter.acquire("n", anon("192.0.2.3")));
        assertEquals(ChallengeLimits.RATE, e.limit());
        assertTrue(e.getMessage().contains("attestmesh.challenge.rate = 10/s"), e.getMessage());
        time.advance(Duration.ofMillis(100));
        assertEquals(1, admitted("n", anon("192.0.2.4"), 5), "shared bucket refills at 10/s");
    }

    @Test
    void renewalsHaveTheirOwnBucketsPerNodeIdUntouchedByAnonymousTraffic() {
        for (int p = 0; p < 50; p++) {
            admitted("n", anon("198.51.100." + p), 10); // drains the shared anonymous bucket
        }
        assertThrows(ChallengeLimitException.class, () -> limiter.acquire("x", anon("203.0.113.1")));
        Caller renewal = new Caller(Lane.RENEWAL, "198.51.100.1");
        assertEquals(2, admitted("node-a", renewal, 5));
        assertEquals(2, admitted("node-b", renewal, 5), "per node id, not per address");
        ChallengeLimitException e = assertThrows(ChallengeLimitException.class,
                () -> limiter.acquire("node-a", renewal));
        assertEquals(ChallengeLimits.RENEWAL_RATE, e.limit());
        assertTrue(e.getMessage().contains("node id 'node-a'"), e.getMessage());
        time.advance(Duration.ofSeconds(1));
        assertDoesNotThrow(() -> limiter.acquire("node-a", renewal));
    }

    @Test
    void idleBucketsAreDroppedOnceFullAgainSoTheMapStaysBounded() {
        for (int p = 0; p < 5; p++) {
            admitted("n", anon("192.0.2." + p), 1);
        }
        assertEquals(5, limiter.trackedPeers());
        time.advance(Duration.ofSeconds(2)); // burst 3 at 2/s fills in 1.5 s
        assertEquals(0, limiter.trackedPeers());
    }

    @Test
    void limitsRefuseValuesOutsideTheirRangesNamingTheKey() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ChallengeLimits(0, 1, 1, 1, 1, 1, 1, 1, 1, 1));
        assertTrue(e.getMessage().contains("attestmesh.challenge.max-per-node must be between 1 and 64"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new ChallengeLimits(4, 1, 1, 1, Double.NaN, 1, 1, 1,
                1, 1));
        assertTrue(e.getMessage().contains("attestmesh.challenge.peer-rate"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new ChallengeLimits(4, 1, 1, 1, 1, 1, 1, 1, 1, -3));
        assertTrue(e.getMessage().contains("attestmesh.challenge.renewal-burst"), e.getMessage());
    }
}
