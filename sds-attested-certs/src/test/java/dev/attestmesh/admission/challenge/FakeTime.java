package dev.attestmesh.admission.challenge;

import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/** A wall clock and a monotonic ticker that move together, only when a test advances them. */
final class FakeTime extends Clock implements Ticker {
    private Instant now = Instant.parse("2026-01-01T00:00:00Z");
    private long nanos = 1_000_000_000L;

    void advance(Duration d) {
        now = now.plus(d);
        nanos += d.toNanos();
    }

    @Override
    public Instant instant() {
        return now;
    }

    @Override
    public long read() {
        return nanos;
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
