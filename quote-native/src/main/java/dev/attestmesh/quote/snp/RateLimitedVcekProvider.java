package dev.attestmesh.quote.snp;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.attestmesh.quote.limits.FetchLimits;
import dev.attestmesh.quote.limits.TokenBucket;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Puts a remote {@link VcekProvider} (AMD KDS) behind three guards, so that reports arriving from the
 * network cannot turn into an unbounded stream of outbound fetches:
 *
 * <ul>
 *   <li>a token bucket ({@link FetchLimits#perSecond()}, {@link FetchLimits#burst()}): without a token
 *       the request fails at once ({@link VcekUnavailableException}) and nothing is fetched;
 *   <li>a memory of failures: a fetch that failed (unknown chip or TCB, KDS error) is answered with the
 *       same failure for {@link FetchLimits#failureTtl()} without asking again;
 *   <li>coalescing: concurrent requests for the same certificate wait for one fetch.
 * </ul>
 *
 * <p>Nothing fetched is kept here: what a fetch returns is not trusted until {@link SnpReportVerifier}
 * has verified it against the AMD chain, and the verifier keeps it only then. The failure memory is
 * bounded by bytes; since only fetches can fail and fetches are rate-limited, it holds at most about
 * rate x TTL + burst entries anyway. Thread-safe.
 */
public final class RateLimitedVcekProvider implements VcekProvider {
    private static final long FAILURE_MEMORY_BYTES = 1L << 20;

    private final VcekProvider delegate;
    private final FetchLimits limits;
    private final TokenBucket budget;
    private final Cache<VcekRequest, String> failures;
    private final ConcurrentHashMap<VcekRequest, CompletableFuture<byte[]>> inFlight = new ConcurrentHashMap<>();
    private final AtomicLong delegateCalls = new AtomicLong();

    private RateLimitedVcekProvider(VcekProvider delegate, FetchLimits limits, LongSupplier nanoTime) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        this.limits = Objects.requireNonNull(limits, "limits");
        this.budget = new TokenBucket(limits, nanoTime);
        this.failures = Caffeine.newBuilder()
                .maximumWeight(FAILURE_MEMORY_BYTES)
                .weigher((VcekRequest k, String m) -> 256 + 2 * (k.chipIdHex().length() + m.length()))
                .expireAfterWrite(limits.failureTtl().toNanos(), TimeUnit.NANOSECONDS)
                .ticker(nanoTime::getAsLong)
                .build();
    }

    /** {@code delegate} behind {@link FetchLimits#defaults()}. */
    public static RateLimitedVcekProvider create(VcekProvider delegate) {
        return create(delegate, FetchLimits.defaults(), System::nanoTime);
    }

    /**
     * @param delegate the remote source
     * @param limits rate, burst and failure memory
     * @param nanoTime monotonic nanoseconds (tests hold it still or move it)
     */
    public static RateLimitedVcekProvider create(VcekProvider delegate, FetchLimits limits, LongSupplier nanoTime) {
        return new RateLimitedVcekProvider(delegate, limits, nanoTime);
    }

    @Override
    public byte[] fetch(VcekRequest request) throws VcekUnavailableException {
        String failed = failures.getIfPresent(request);
        if (failed != null) {
            throw new VcekUnavailableException(failed + " (a recent failure; retried after "
                    + limits.failureTtl().toSeconds() + " s)");
        }
        CompletableFuture<byte[]> mine = new CompletableFuture<>();
        CompletableFuture<byte[]> running = inFlight.putIfAbsent(request, mine);
        if (running != null) {
            return await(running).clone();
        }
        if (!budget.tryAcquire()) {
            // Not remembered: the certificate may well exist, there was just no budget to ask for it.
            VcekUnavailableException e = new VcekUnavailableException("fetches of " + request.keyType()
                    + " certificates are rate-limited (" + limits.perSecond() + " per second, bursts of "
                    + limits.burst() + "); retry shortly or send the certificate as collateral");
            inFlight.remove(request, mine);
            mine.completeExceptionally(e);
            throw e;
        }
        try {
            delegateCalls.incrementAndGet();
            byte[] cert = delegate.fetch(request);
            if (cert == null) {
                throw new VcekUnavailableException("the " + request.keyType() + " source returned nothing");
            }
            mine.complete(cert);
            return cert.clone();
        } catch (VcekUnavailableException e) {
            remember(request, e.getMessage());
            mine.completeExceptionally(e);
            throw e;
        } catch (RuntimeException e) {
            String m = "fetching the " + request.keyType() + " failed: " + e;
            remember(request, m);
            VcekUnavailableException u = new VcekUnavailableException(m, e);
            mine.completeExceptionally(u);
            throw u;
        } finally {
            inFlight.remove(request, mine);
        }
    }

    private void remember(VcekRequest request, String message) {
        failures.put(request, message == null ? "the " + request.keyType() + " is unavailable" : message);
    }

    private static byte[] await(CompletableFuture<byte[]> f) throws VcekUnavailableException {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof VcekUnavailableException u) {
                throw new VcekUnavailableException(u.getMessage(), u);
            }
            throw new VcekUnavailableException("fetching the certificate failed: " + e.getCause(), e.getCause());
        }
    }

    /** How many times the delegate was asked (for tests and monitoring). */
    public long delegateCalls() {
        return delegateCalls.get();
    }

    /** Failures currently remembered (approximate). */
    public long rememberedFailures() {
        failures.cleanUp();
        return failures.estimatedSize();
    }
}
