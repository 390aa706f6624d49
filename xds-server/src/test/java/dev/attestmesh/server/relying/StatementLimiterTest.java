package dev.attestmesh.server.relying;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class StatementLimiterTest {
    @Test
    void admitsTheBurstThenRefillsAtTheRate() throws Exception {
        AtomicLong now = new AtomicLong();
        StatementLimiter l = new StatementLimiter(2, 3, 10, now::get);
        for (int i = 0; i < 3; i++) {
            l.acquire().close();
        }
        assertThrows(StatementLimiter.LimitedException.class, l::acquire);
        now.addAndGet(500_000_000L); // half a second at 2/s: one token
        l.acquire().close();
        assertThrows(StatementLimiter.LimitedException.class, l::acquire);
    }

    @Test
    void boundsConcurrentCollectionsAndReleasesThePermit() throws Exception {
        AtomicLong now = new AtomicLong();
        StatementLimiter l = new StatementLimiter(1000, 1000, 2, now::get);
        StatementLimiter.Permit a = l.acquire();
        StatementLimiter.Permit b = l.acquire();
        var e = assertThrows(StatementLimiter.LimitedException.class, l::acquire);
        assertTrue(e.getMessage().contains("at once"), e.getMessage());
        a.close();
        l.acquire().close();
        b.close();
    }

    @Test
    void oneFloodingAddressDoesNotStarveTheOthers() throws Exception {
        AtomicLong now = new AtomicLong();
        StatementLimiter l = new StatementLimiter(2, 5, 10, 0.5, 2, now::get);
        l.acquire("192.0.2.1").close();
        l.acquire("192.0.2.1").close();
        for (int i = 0; i < 50; i++) {
            var e = assertThrows(StatementLimiter.LimitedException.class, () -> l.acquire("192.0.2.1"));
            assertTrue(e.getMessage().contains("from this address"), e.getMessage());
        }
        // the flood took only its own two tokens from the shared bucket: three are left for others
        l.acquire("198.51.100.7").close();
        l.acquire("198.51.100.7").close();
        l.acquire("203.0.113.9").close();
        var shared = assertThrows(StatementLimiter.LimitedException.class, () -> l.acquire("203.0.113.9"));
        assertTrue(shared.getMessage().contains("TEE statements a second"), shared.getMessage());
        now.addAndGet(2_000_000_000L); // two seconds: the address bucket has one token again
        l.acquire("192.0.2.1").close();
    }

    @Test
    void refusesNonsenseLimits() {
        assertThrows(IllegalArgumentException.class, () -> new StatementLimiter(0, 1, 1, System::nanoTime));
        assertThrows(IllegalArgumentException.class, () -> new StatementLimiter(1, 0, 1, System::nanoTime));
        assertThrows(IllegalArgumentException.class, () -> new StatementLimiter(Double.NaN, 1, 1, System::nanoTime));
        assertThrows(IllegalArgumentException.class, () -> new StatementLimiter(1, 1, 1, 0, 1, System::nanoTime));
        assertThrows(IllegalArgumentException.class, () -> new StatementLimiter(1, 1, 1, 1, 0, System::nanoTime));
    }
}
