package dev.attestmesh.quote.snp;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.limits.FetchLimits;
import dev.attestmesh.quote.limits.TokenBucket;
import java.security.cert.X509CRL;
import java.time.Clock;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Keeps each AMD CRL until its nextUpdate (like the Intel collateral cache) and guards the source as
 * {@link RateLimitedVcekProvider} guards VCEK fetches: fetches need a token of the {@link FetchLimits}
 * bucket, and a failed fetch is answered with the same failure for {@link FetchLimits#failureTtl()}.
 * Concurrent misses for one CRL are serialized on that CRL. At most one entry per product and key kind
 * (six), each at most {@link AmdCrl#MAX_BYTES}. Thread-safe.
 */
public final class CachingAmdCrlProvider implements AmdCrlProvider {
    private record Key(SnpProduct product, SnpSigningKey keyType) {}

    private record Entry(byte[] bytes, Instant nextUpdate) {}

    private record Failure(String message, long atNanos) {}

    private final AmdCrlProvider source;
    private final FetchLimits limits;
    private final TokenBucket budget;
    private final Clock clock;
    private final java.util.function.LongSupplier nanoTime;
    private final ConcurrentHashMap<Key, Entry> entries = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Key, Failure> failures = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Key, Object> locks = new ConcurrentHashMap<>();
    private volatile long fetches;

    public CachingAmdCrlProvider(AmdCrlProvider source, FetchLimits limits, Clock clock,
            java.util.function.LongSupplier nanoTime) {
        this.source = Objects.requireNonNull(source, "source");
        this.limits = Objects.requireNonNull(limits, "limits");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
        this.budget = new TokenBucket(limits, nanoTime);
    }

    /** The earliest nextUpdate of the AMD CRLs held, empty when none is (for monitoring). */
    public Optional<Instant> earliestNextUpdate() {
        return entries.values().stream().map(Entry::nextUpdate).min(Instant::compareTo);
    }

    @Override
    public Optional<byte[]> crl(SnpProduct product, SnpSigningKey keyType) throws VcekUnavailableException {
        Key key = new Key(product, keyType);
        Entry e = entries.get(key);
        if (e != null && fresh(e)) {
            return Optional.of(e.bytes());
        }
        synchronized (locks.computeIfAbsent(key, k -> new Object())) {
            e = entries.get(key);
            if (e != null && fresh(e)) {
                return Optional.of(e.bytes());
            }
            Failure f = failures.get(key);
            if (f != null && nanoTime.getAsLong() - f.atNanos() < limits.failureTtl().toNanos()) {
                throw new VcekUnavailableException(f.message() + " (a recent failure; retried after "
                        + limits.failureTtl().toSeconds() + " s)");
            }
            if (!budget.tryAcquire()) {
                throw new VcekUnavailableException("fetches of AMD CRLs are rate-limited (" + limits.perSecond()
                        + " per second); retry shortly");
            }
            fetches++;
            try {
                Optional<byte[]> got = source.crl(product, keyType);
                if (got.isEmpty()) {
                    return got;
                }
                X509CRL parsed = AmdCrl.parse(got.get());
                // Kept until nextUpdate; its signature is checked by the verifier on use (cheaply, once per bytes).
                Instant next = parsed.getNextUpdate() == null ? clock.instant() : parsed.getNextUpdate().toInstant();
                entries.put(key, new Entry(got.get(), next));
                failures.remove(key);
                return got;
            } catch (VcekUnavailableException x) {
                failures.put(key, new Failure(x.getMessage(), nanoTime.getAsLong()));
                throw x;
            } catch (EvidenceVerificationException x) {
                failures.put(key, new Failure(x.getMessage(), nanoTime.getAsLong()));
                throw new VcekUnavailableException(x.getMessage(), x);
            }
        }
    }

    private boolean fresh(Entry e) {
        return clock.instant().isBefore(e.nextUpdate());
    }

    /** How many times the source was asked (tests and monitoring). */
    public long fetches() {
        return fetches;
    }
}
