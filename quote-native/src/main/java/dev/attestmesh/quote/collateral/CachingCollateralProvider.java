package dev.attestmesh.quote.collateral;

import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import dev.attestmesh.quote.TeeType;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;

/**
 * Caches another provider's collateral (Caffeine), one entry per TCB Info (TEE + FMSPC), QE Identity
 * (TEE), PCK CRL (CA) and Root CA CRL.
 *
 * <p>Guarantees: an entry lives until its own {@code nextUpdate} (TCB Info / QE Identity {@code
 * nextUpdate}, CRL {@code nextUpdate}) and no longer; concurrent misses for one key are coalesced
 * into a single fetch from the delegate; a fetch whose result is already past its {@code nextUpdate}
 * fails ({@link CollateralUnavailableException}) instead of being served, so the cache fails closed
 * when the source only has stale collateral. Failed fetches are not cached. Thread-safe.
 */
public final class CachingCollateralProvider implements CollateralProvider {
    private final CollateralProvider delegate;
    private final Clock clock;
    private final AsyncLoadingCache<Key, Entry> cache;

    /** Cache keys: one per independently published collateral item. */
    private sealed interface Key permits TcbInfoKey, QeIdentityKey, PckCrlKey, RootCrlKey {}

    private record TcbInfoKey(TeeType tee, String fmspc) implements Key {}

    private record QeIdentityKey(TeeType tee) implements Key {}

    private record PckCrlKey(PckCa ca) implements Key {}

    private record RootCrlKey() implements Key {}

    private record Entry(Object value, Instant nextUpdate) {}

    public CachingCollateralProvider(CollateralProvider delegate) {
        this(delegate, Clock.systemUTC(), ForkJoinPool.commonPool());
    }

    /**
     * @param clock decides both freshness and entry lifetime (tests pass a controllable clock)
     * @param executor runs fetches from the delegate
     */
    public CachingCollateralProvider(CollateralProvider delegate, Clock clock, Executor executor) {
        this.delegate = delegate;
        this.clock = clock;
        this.cache = Caffeine.newBuilder()
                .maximumSize(10_000)
                .executor(executor)
                .ticker(() -> TimeUnit.MILLISECONDS.toNanos(clock.millis()))
                .expireAfter(new Expiry<Key, Entry>() {
                    @Override
                    public long expireAfterCreate(Key key, Entry e, long now) {
                        return untilNextUpdate(e);
                    }

                    @Override
                    public long expireAfterUpdate(Key key, Entry e, long now, long current) {
                        return untilNextUpdate(e);
                    }

                    @Override
                    public long expireAfterRead(Key key, Entry e, long now, long current) {
                        return current;
                    }
                })
                .buildAsync(this::load);
    }

    private long untilNextUpdate(Entry e) {
        return Math.max(0, Duration.between(clock.instant(), e.nextUpdate()).toNanos());
    }

    private Entry load(Key key) throws Exception {
        Entry e = switch (key) {
            case TcbInfoKey k -> {
                SignedCollateral c = delegate.tcbInfo(k.tee(), k.fmspc());
                yield new Entry(c, TcbInfo.parse(c.body()).nextUpdate());
            }
            case QeIdentityKey k -> {
                SignedCollateral c = delegate.qeIdentity(k.tee());
                yield new Entry(c, QeIdentity.parse(c.body()).nextUpdate());
            }
            case PckCrlKey k -> {
                PckCrl c = delegate.pckCrl(k.ca());
                yield new Entry(c, crlNextUpdate(c.der(), "PCK CRL"));
            }
            case RootCrlKey k -> {
                RootCaCrl c = delegate.rootCaCrl();
                yield new Entry(c, crlNextUpdate(c.der(), "Root CA CRL"));
            }
        };
        if (!e.nextUpdate().isAfter(clock.instant())) {
            throw new CollateralUnavailableException("the collateral source returned " + describe(key)
                    + " whose nextUpdate " + e.nextUpdate() + " has passed; refusing stale collateral");
        }
        return e;
    }

    private static Instant crlNextUpdate(byte[] der, String what) throws CollateralUnavailableException {
        try {
            X509CRL crl = (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(new ByteArrayInputStream(der));
            if (crl.getNextUpdate() == null) {
                throw new CollateralUnavailableException(what + " has no nextUpdate");
            }
            return crl.getNextUpdate().toInstant();
        } catch (java.security.GeneralSecurityException | RuntimeException e) {
            throw new CollateralUnavailableException(what + " from the collateral source is not a CRL", e);
        }
    }

    private Object get(Key key) throws CollateralUnavailableException {
        for (int attempt = 0; attempt < 2; attempt++) {
            Entry e;
            try {
                e = cache.get(key).join();
            } catch (CompletionException ce) {
                Throwable c = ce.getCause();
                if (c instanceof CollateralUnavailableException cu) {
                    throw cu;
                }
                throw new CollateralUnavailableException("fetching " + describe(key) + " failed: " + c.getMessage(), c);
            }
            if (e.nextUpdate().isAfter(clock.instant())) {
                return e.value();
            }
            // Past nextUpdate but not yet evicted (expiry granularity): drop it and fetch once more.
            cache.synchronous().invalidate(key);
        }
        throw new CollateralUnavailableException(describe(key) + " is past its nextUpdate and no newer one is available");
    }

    private static String describe(Key key) {
        return switch (key) {
            case TcbInfoKey k -> "TCB Info for " + k.tee().wireName() + " FMSPC " + k.fmspc();
            case QeIdentityKey k -> "QE Identity for " + k.tee().wireName();
            case PckCrlKey k -> "PCK CRL of the " + k.ca().commonName();
            case RootCrlKey k -> "Root CA CRL";
        };
    }

    @Override
    public SignedCollateral tcbInfo(TeeType tee, String fmspc) throws CollateralUnavailableException {
        return (SignedCollateral) get(new TcbInfoKey(tee, fmspc.toUpperCase(Locale.ROOT)));
    }

    @Override
    public SignedCollateral qeIdentity(TeeType tee) throws CollateralUnavailableException {
        return (SignedCollateral) get(new QeIdentityKey(tee));
    }

    @Override
    public PckCrl pckCrl(PckCa ca) throws CollateralUnavailableException {
        return (PckCrl) get(new PckCrlKey(ca));
    }

    @Override
    public RootCaCrl rootCaCrl() throws CollateralUnavailableException {
        return (RootCaCrl) get(new RootCrlKey());
    }
}
