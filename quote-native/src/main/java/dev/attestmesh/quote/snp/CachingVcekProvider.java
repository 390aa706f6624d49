package dev.attestmesh.quote.snp;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/**
 * Caches another provider's certificates (Caffeine), keyed by product, key type, chip ID and reported
 * TCB. Concurrent misses for the same key are coalesced into a single fetch; a failed fetch is not
 * cached, so the next request retries. A VCEK never changes for a given chip and TCB, so entries only
 * leave by size or by the configured age.
 */
public final class CachingVcekProvider implements VcekProvider {
    private final VcekProvider delegate;
    private final AsyncCache<VcekRequest, byte[]> cache;

    private CachingVcekProvider(VcekProvider delegate, long maximumSize, Duration expireAfterWrite, Executor executor) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        this.cache = Caffeine.newBuilder().maximumSize(maximumSize).expireAfterWrite(expireAfterWrite)
                .executor(executor).buildAsync();
    }

    /**
     * @param delegate where misses go
     * @param maximumSize most certificates kept
     * @param expireAfterWrite how long a certificate is kept
     * @param executor runs the fetches (the caller waits for its result)
     */
    public static CachingVcekProvider create(VcekProvider delegate, long maximumSize, Duration expireAfterWrite,
            Executor executor) {
        return new CachingVcekProvider(delegate, maximumSize, expireAfterWrite, executor);
    }

    /** As {@link #create(VcekProvider, long, Duration, Executor)} with 10,000 entries, 7 days, and the common pool. */
    public static CachingVcekProvider create(VcekProvider delegate) {
        return create(delegate, 10_000, Duration.ofDays(7), java.util.concurrent.ForkJoinPool.commonPool());
    }

    @Override
    public byte[] fetch(VcekRequest request) throws VcekUnavailableException {
        try {
            return cache.get(request, key -> {
                try {
                    return delegate.fetch(key);
                } catch (VcekUnavailableException e) {
                    throw new CompletionException(e);
                }
            }).join().clone();
        } catch (CompletionException e) {
            if (e.getCause() instanceof VcekUnavailableException u) {
                throw new VcekUnavailableException(u.getMessage(), u);
            }
            throw new VcekUnavailableException("fetching the " + request.keyType() + " failed: " + e.getCause(), e.getCause());
        }
    }

    /** Number of certificates currently cached (approximate). */
    public long size() {
        return cache.synchronous().estimatedSize();
    }
}
