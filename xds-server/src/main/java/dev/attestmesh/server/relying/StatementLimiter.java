package dev.attestmesh.server.relying;

import java.util.concurrent.Semaphore;
import java.util.function.LongSupplier;

/**
 * Bounds the unauthenticated statement endpoint: collecting TEE evidence is expensive (a TDX quote takes
 * about a second), so requests are admitted by a token bucket ({@code ratePerSecond}, at most
 * {@code burst} at once after idling) and at most {@code maxConcurrent} collections run together. A
 * refused request costs nothing further. Thread-safe.
 */
public final class StatementLimiter {
    private final double tokensPerNano;
    private final double burst;
    private final Semaphore running;
    private final LongSupplier nanoTime;
    private double tokens; // guarded by this
    private long last; // guarded by this

    public StatementLimiter(double ratePerSecond, int burst, int maxConcurrent, LongSupplier nanoTime) {
        if (!(ratePerSecond > 0) || burst < 1 || maxConcurrent < 1) {
            throw new IllegalArgumentException("statement limits must be positive (rate " + ratePerSecond + "/s, burst "
                    + burst + ", concurrent " + maxConcurrent + ")");
        }
        this.tokensPerNano = ratePerSecond / 1e9;
        this.burst = burst;
        this.running = new Semaphore(maxConcurrent);
        this.nanoTime = nanoTime;
        this.tokens = burst;
        this.last = nanoTime.getAsLong();
    }

    /** Defaults: 2 statements a second, bursts of 10, 2 collections at once. */
    public static StatementLimiter defaults() {
        return new StatementLimiter(2, 10, 2, System::nanoTime);
    }

    /** A permit to collect one statement; release it with {@link Permit#close()}. */
    public interface Permit extends AutoCloseable {
        @Override
        void close();
    }

    /** Thrown when a request is over the limit; the caller answers 429 / RESOURCE_EXHAUSTED. */
    public static final class LimitedException extends Exception {
        LimitedException(String message) {
            super(message);
        }
    }

    public Permit acquire() throws LimitedException {
        synchronized (this) {
            long now = nanoTime.getAsLong();
            tokens = Math.min(burst, tokens + (now - last) * tokensPerNano);
            last = now;
            if (tokens < 1) {
                throw new LimitedException("too many statement requests: the control plane collects at most "
                        + Math.round(tokensPerNano * 1e9 * 100) / 100.0 + " TEE statements a second; retry later");
            }
            tokens -= 1;
        }
        if (!running.tryAcquire()) {
            throw new LimitedException("too many statements are being collected at once; retry later");
        }
        return running::release;
    }
}
