package dev.attestmesh.server.relying;

import java.util.concurrent.Semaphore;
import java.util.function.LongSupplier;

/**
 * Bounds the unauthenticated statement endpoint: collecting TEE evidence is expensive (a TDX quote takes
 * about a second), so requests are admitted by a token bucket per caller address ({@code peerRate},
 * {@code peerBurst}; the {@value #MAX_PEERS} most recent addresses are tracked), then by a token bucket
 * shared by all ({@code ratePerSecond}, at most {@code burst} at once after idling), and at most
 * {@code maxConcurrent} collections run together. A request refused by its address's bucket takes nothing
 * from the shared one, so one address cannot starve the others. A refused request costs nothing further.
 * Thread-safe.
 */
public final class StatementLimiter {
    /** Caller addresses whose buckets are kept; the least recently seen is forgotten first. */
    public static final int MAX_PEERS = 4096;
    private final double tokensPerNano;
    private final double burst;
    private final double peerTokensPerNano;
    private final double peerBurst;
    private final java.util.LinkedHashMap<String, PeerBucket> peers = new java.util.LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<String, PeerBucket> eldest) {
            return size() > MAX_PEERS;
        }
    }; // guarded by this

    private static final class PeerBucket {
        double tokens;
        long last;

        PeerBucket(double tokens, long last) {
            this.tokens = tokens;
            this.last = last;
        }
    }
    private final Semaphore running;
    private final LongSupplier nanoTime;
    private double tokens; // guarded by this
    private long last; // guarded by this

    /** Limits without a separate per-address bucket (each address may use the whole shared bucket). */
    public StatementLimiter(double ratePerSecond, int burst, int maxConcurrent, LongSupplier nanoTime) {
        this(ratePerSecond, burst, maxConcurrent, ratePerSecond, burst, nanoTime);
    }

    public StatementLimiter(double ratePerSecond, int burst, int maxConcurrent, double peerRate, int peerBurst,
            LongSupplier nanoTime) {
        if (!(ratePerSecond > 0) || burst < 1 || maxConcurrent < 1 || !(peerRate > 0) || peerBurst < 1) {
            throw new IllegalArgumentException("statement limits must be positive (rate " + ratePerSecond + "/s, burst "
                    + burst + ", concurrent " + maxConcurrent + ", per address " + peerRate + "/s, burst " + peerBurst + ")");
        }
        this.tokensPerNano = ratePerSecond / 1e9;
        this.burst = burst;
        this.peerTokensPerNano = peerRate / 1e9;
        this.peerBurst = peerBurst;
        this.running = new Semaphore(maxConcurrent);
        this.nanoTime = nanoTime;
        this.tokens = burst;
        this.last = nanoTime.getAsLong();
    }

    /** Defaults: 2 statements a second, bursts of 10, 2 collections at once; 0.5 a second and 3 per address. */
    public static StatementLimiter defaults() {
        return new StatementLimiter(2, 10, 2, 0.5, 3, System::nanoTime);
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

    /** A permit without a caller address (only the shared bucket and the concurrency bound apply). */
    public Permit acquire() throws LimitedException {
        return acquire(null);
    }

    /** @param peer the caller's address, or null when unknown */
    public Permit acquire(String peer) throws LimitedException {
        synchronized (this) {
            long now = nanoTime.getAsLong();
            if (peer != null) {
                PeerBucket b = peers.computeIfAbsent(peer, p -> new PeerBucket(peerBurst, now));
                b.tokens = Math.min(peerBurst, b.tokens + (now - b.last) * peerTokensPerNano);
                b.last = now;
                if (b.tokens < 1) {
                    throw new LimitedException("too many statement requests from this address; retry later");
                }
                b.tokens -= 1;
            }
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
