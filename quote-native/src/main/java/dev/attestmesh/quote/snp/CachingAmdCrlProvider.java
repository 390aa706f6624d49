package dev.attestmesh.quote.snp;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.collateral.CollateralChange;
import dev.attestmesh.quote.collateral.CollateralChanges;
import dev.attestmesh.quote.limits.FetchLimits;
import dev.attestmesh.quote.limits.TokenBucket;
import dev.attestmesh.quote.trust.AmdTrustAnchors;
import java.security.cert.X509CRL;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps each AMD CRL until its nextUpdate (like the Intel collateral cache) and guards the source as
 * {@link RateLimitedVcekProvider} guards VCEK fetches: fetches need a token of the {@link FetchLimits}
 * bucket, and a failed fetch is answered with the same failure for {@link FetchLimits#failureTtl()}.
 * Concurrent misses for one CRL are serialized on that CRL. At most one entry per product and key kind
 * (six), each at most {@link AmdCrl#MAX_BYTES}.
 *
 * <p>With a {@link CollateralChanges} hub, a CRL whose bytes differ from those last held for its product
 * and key kind (fetched after nextUpdate, or by {@link #refresh()}) is announced there, so the SEV-SNP
 * nodes are judged again against it at once: a newly revoked VCEK/VLEK or ASK/ASVK then withdraws their
 * identity. Thread-safe.
 */
public final class CachingAmdCrlProvider implements AmdCrlProvider {
    private static final Logger LOG = LoggerFactory.getLogger(CachingAmdCrlProvider.class);

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
    /** SHA-256 of the bytes last held per key (at most six keys), for change detection and refresh. */
    private final ConcurrentHashMap<Key, String> lastSeen = new ConcurrentHashMap<>();
    private final Optional<CollateralChanges> changes;
    private volatile long fetches;

    public CachingAmdCrlProvider(AmdCrlProvider source, FetchLimits limits, Clock clock,
            java.util.function.LongSupplier nanoTime) {
        this(source, limits, clock, nanoTime, Optional.empty());
    }

    /** As the four-argument constructor, announcing changed CRLs on {@code changes} and registering {@link #refresh()} there. */
    public CachingAmdCrlProvider(AmdCrlProvider source, FetchLimits limits, Clock clock,
            java.util.function.LongSupplier nanoTime, Optional<CollateralChanges> changes) {
        this.changes = Objects.requireNonNull(changes, "changes");
        this.source = Objects.requireNonNull(source, "source");
        this.limits = Objects.requireNonNull(limits, "limits");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
        this.budget = new TokenBucket(limits, nanoTime);
        changes.ifPresent(c -> c.addRefresher(this::refresh));
    }

    /**
     * Fetches every CRL held before again (bypassing the fetch budget: at most six), keeps one that
     * parses and announces it when its bytes changed; a failed fetch keeps the held CRL until its own
     * nextUpdate. Run by the owner on a schedule, so a revocation is noticed before nextUpdate.
     */
    public void refresh() {
        for (Key key : List.copyOf(lastSeen.keySet())) {
            synchronized (locks.computeIfAbsent(key, k -> new Object())) {
                try {
                    Optional<byte[]> got = source.crl(key.product(), key.keyType());
                    if (got.isPresent()) {
                        keep(key, got.get());
                    }
                } catch (VcekUnavailableException | EvidenceVerificationException e) {
                    LOG.warn("keeping the held AMD CRL for {} {}: fetching it again failed: {}", key.product().kdsName(),
                            key.keyType(), e.getMessage());
                }
            }
        }
    }

    /** Parses and holds {@code bytes} for {@code key}; announces them when they differ from those held before. */
    private void keep(Key key, byte[] bytes) throws EvidenceVerificationException {
        X509CRL parsed = AmdCrl.parse(bytes);
        // Kept until nextUpdate; its signature is checked by the verifier on use (cheaply, once per bytes).
        Instant next = parsed.getNextUpdate() == null ? clock.instant() : parsed.getNextUpdate().toInstant();
        entries.put(key, new Entry(bytes, next));
        failures.remove(key);
        if (changes.isEmpty()) {
            return;
        }
        String digest = AmdTrustAnchors.sha256Hex(bytes);
        String previous = lastSeen.put(key, digest);
        if (previous != null && !previous.equals(digest)) {
            changes.get().publish(new CollateralChange("AMD CRL for " + key.product().kdsName() + " " + key.keyType()
                    + " chain", Set.of(TeeType.SNP, TeeType.AZ_SNP_VTPM), Optional.empty()));
        }
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
                keep(key, got.get());
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
