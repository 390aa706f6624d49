package dev.attestmesh.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class NonceStoreTest {
    static final class MutableClock extends Clock {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    final MutableClock clock = new MutableClock();
    final NonceStore store = new NonceStore(clock, Duration.ofMinutes(2), 3);

    @Test
    void issuesThirtyTwoRandomBytesThatAreAcceptedOnce() {
        NonceStore.Issued a = store.issue("n1");
        NonceStore.Issued b = store.issue("n1");
        assertEquals(32, a.nonce().length);
        assertNotEquals(Arrays.toString(a.nonce()), Arrays.toString(b.nonce()));
        assertEquals(clock.now.plus(Duration.ofMinutes(2)), a.expiresAt());
        assertEquals(Optional.empty(), store.consume("n1", a.nonce()));
        assertEquals(Optional.of(NonceStore.Rejection.UNKNOWN), store.consume("n1", a.nonce()));
    }

    @Test
    void rejectsExpiredNonce() {
        byte[] n = store.issue("n1").nonce();
        clock.now = clock.now.plus(Duration.ofMinutes(3));
        assertEquals(Optional.of(NonceStore.Rejection.EXPIRED), store.consume("n1", n));
    }

    @Test
    void rejectsNonceIssuedForAnotherNodeAndBurnsIt() {
        byte[] n = store.issue("n1").nonce();
        assertEquals(Optional.of(NonceStore.Rejection.OTHER_NODE), store.consume("n2", n));
        assertEquals(Optional.of(NonceStore.Rejection.UNKNOWN), store.consume("n1", n));
    }

    @Test
    void rejectsNonceOfWrongLengthAndUnknownNonce() {
        assertEquals(Optional.of(NonceStore.Rejection.MALFORMED), store.consume("n1", new byte[31]));
        assertEquals(Optional.of(NonceStore.Rejection.UNKNOWN), store.consume("n1", new byte[32]));
    }

    @Test
    void boundsOutstandingNoncesButReclaimsExpiredOnes() {
        store.issue("a");
        store.issue("b");
        store.issue("c");
        assertThrows(IllegalStateException.class, () -> store.issue("d"));
        clock.now = clock.now.plus(Duration.ofMinutes(3));
        assertTrue(store.issue("d").nonce().length == 32);
        assertEquals(1, store.outstanding());
    }
}
