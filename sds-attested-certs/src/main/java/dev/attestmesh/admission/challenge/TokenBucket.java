package dev.attestmesh.admission.challenge;

/**
 * A token bucket: holds at most {@code burst} tokens, refilled continuously at {@code ratePerSecond};
 * each admitted call takes one. Refilled lazily from the time the caller passes in, so tests drive it
 * with a fake clock and an idle bucket costs nothing. Thread-safe.
 */
final class TokenBucket {
    private final double tokensPerNano;
    private final double burst;
    private double tokens;
    private long last;

    /** A full bucket at time {@code nowNanos}. */
    TokenBucket(double ratePerSecond, int burst, long nowNanos) {
        this.tokensPerNano = ratePerSecond / 1e9;
        this.burst = burst;
        this.tokens = burst;
        this.last = nowNanos;
    }

    /** Takes a token if one is there at {@code nowNanos}. */
    synchronized boolean tryTake(long nowNanos) {
        long elapsed = nowNanos - last;
        if (elapsed > 0) {
            tokens = Math.min(burst, tokens + elapsed * tokensPerNano);
            last = nowNanos;
        }
        if (tokens >= 1) {
            tokens -= 1;
            return true;
        }
        return false;
    }

    /** Nanoseconds an idle bucket takes to fill up from empty: after that, a new bucket is the same. */
    static long fillNanos(double ratePerSecond, int burst) {
        double nanos = burst / ratePerSecond * 1e9;
        return nanos >= Long.MAX_VALUE / 2 ? Long.MAX_VALUE / 2 : Math.max(1, (long) Math.ceil(nanos));
    }
}
