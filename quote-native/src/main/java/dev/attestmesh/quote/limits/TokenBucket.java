package dev.attestmesh.quote.limits;

import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * A token bucket: at most {@code burst} permits at once, refilled at {@code perSecond}. Used to bound
 * how many outbound collateral fetches unauthenticated traffic can cause; a caller that gets no permit
 * fails at once rather than waiting, so a flood never queues up work.
 *
 * <p>Thread-safe. Time comes from a nanosecond source so tests can hold it still.
 */
public final class TokenBucket {
    private final double perNano;
    private final double capacity;
    private final LongSupplier nanoTime;
    private double tokens;
    private long last;

    /**
     * @param limits rate and burst
     * @param nanoTime monotonic nanoseconds, e.g. {@code System::nanoTime}
     */
    public TokenBucket(FetchLimits limits, LongSupplier nanoTime) {
        this.perNano = limits.perSecond() / 1e9;
        this.capacity = limits.burst();
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
        this.tokens = capacity;
        this.last = nanoTime.getAsLong();
    }

    /** Takes one permit if one is available. */
    public synchronized boolean tryAcquire() {
        long now = nanoTime.getAsLong();
        if (now > last) {
            tokens = Math.min(capacity, tokens + (now - last) * perNano);
            last = now;
        }
        if (tokens >= 1) {
            tokens -= 1;
            return true;
        }
        return false;
    }
}
