package dev.attestmesh.quote.collateral;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.limits.FetchLimits;
import dev.attestmesh.quote.limits.TokenBucket;
import dev.attestmesh.quote.trust.IntelTrustAnchors;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;

/**
 * Caches another provider's collateral (Caffeine), one entry per TCB Info (TEE + FMSPC), QE Identity
 * (TEE), PCK CRL (CA) and Root CA CRL, and guards the fetches behind it.
 *
 * <p>Guarantees:
 * <ul>
 *   <li>only authenticated items are kept: an item enters the cache after its signature chain to the
 *       pinned Intel SGX Root CA verified ({@link CollateralAuthenticity}); anything else is refused and
 *       never stored;
 *   <li>the cache is bounded by an estimate of the bytes it holds, not by an entry count;
 *   <li>an entry lives until its own {@code nextUpdate} and no longer; a fetch whose result is already
 *       past its {@code nextUpdate} fails ({@link CollateralUnavailableException}), so the cache fails
 *       closed when the source only has stale collateral;
 *   <li>concurrent misses for one key are coalesced into a single fetch; fetches from the delegate are
 *       rate-limited by a token bucket ({@link FetchLimits}), and a failed fetch is remembered for the
 *       limits' failure TTL instead of being repeated by every request.
 * </ul>
 * Per-quote checks (validity windows, revocation of the signer by the current Root CA CRL) remain the
 * verifier's job.
 *
 * <p>With a {@link CollateralChanges} hub, a fetched item whose bytes differ from those last held for its
 * key is announced there ({@link CollateralChange}), so evidence judged with the old item is judged
 * again; an item fetched again unchanged announces nothing. {@link #refresh()} fetches every held item
 * again ahead of its nextUpdate (a TCB recovery is published before the old item expires). Thread-safe.
 */
public final class CachingCollateralProvider implements CollateralProvider {
    /** Default bound on the bytes kept: 16 MiB, room for thousands of FMSPCs. */
    public static final long DEFAULT_MAX_BYTES = 16L << 20;
    /** Fixed cost counted per entry besides its encoded bytes (objects, keys, bookkeeping). */
    private static final int ENTRY_OVERHEAD = 512;

    private final CollateralProvider delegate;
    private final IntelTrustAnchors anchors;
    private final Clock clock;
    private final FetchLimits limits;
    private final TokenBucket fetchBudget;
    private final AsyncCache<Key, Entry> cache;
    private final Optional<CollateralChanges> changes;
    /** SHA-256 of the content last authenticated per key, to tell a changed item from a re-fetch. Bounded. */
    private final Map<Key, byte[]> lastSeen = new ConcurrentHashMap<>();
    /** The verified PCK CA certificate last used per CA, for refreshing its CRL. */
    private final Map<PckCa, X509Certificate> pckCas = new ConcurrentHashMap<>();
    /** Keys whose content is remembered: far above the FMSPCs of any fleet. */
    private static final int MAX_REMEMBERED = 4096;

    /** Cache keys: one per independently published collateral item. */
    private sealed interface Key permits TcbInfoKey, QeIdentityKey, PckCrlKey, RootCrlKey {}

    private record TcbInfoKey(TeeType tee, String fmspc) implements Key {}

    private record QeIdentityKey(TeeType tee) implements Key {}

    private record PckCrlKey(PckCa ca) implements Key {}

    private record RootCrlKey() implements Key {}

    /**
     * What a fetch produced. Failures are cached too (for the failure TTL), so that the cache's loads
     * never complete exceptionally: a flood of failing keys is then neither repeated nor logged.
     */
    private sealed interface Entry permits Loaded, Failed {
        int weight();
    }

    /** An authenticated item, kept until its nextUpdate. */
    private record Loaded(Object value, Instant nextUpdate, int weight) implements Entry {}

    /** A failed fetch, remembered for the failure TTL. */
    private record Failed(String message) implements Entry {
        @Override
        public int weight() {
            return 128 + 2 * message.length();
        }
    }

    /** Default bound and fetch limits, the system clock, fetches on the common pool. */
    public CachingCollateralProvider(CollateralProvider delegate, IntelTrustAnchors anchors) {
        this(delegate, anchors, DEFAULT_MAX_BYTES, FetchLimits.defaults(), Clock.systemUTC(), ForkJoinPool.commonPool());
    }

    /**
     * @param delegate where misses go
     * @param anchors the pinned root (and configured TCB Signing certificates) items must chain to
     * @param maxBytes bound on the estimated bytes kept (at least 32 KiB)
     * @param limits fetch rate, burst and how long a failed fetch is remembered
     * @param clock decides freshness, entry lifetime and the fetch budget (tests pass a controllable clock)
     * @param executor runs fetches from the delegate
     */
    public CachingCollateralProvider(CollateralProvider delegate, IntelTrustAnchors anchors, long maxBytes,
            FetchLimits limits, Clock clock, Executor executor) {
        this(delegate, anchors, maxBytes, limits, clock, executor, Optional.empty());
    }

    /**
     * As the six-argument constructor, announcing changed items on {@code changes} and registering
     * {@link #refresh()} there.
     */
    public CachingCollateralProvider(CollateralProvider delegate, IntelTrustAnchors anchors, long maxBytes,
            FetchLimits limits, Clock clock, Executor executor, Optional<CollateralChanges> changes) {
        this.changes = Objects.requireNonNull(changes, "changes");
        if (maxBytes < 32 << 10) {
            throw new IllegalArgumentException("the collateral cache needs at least 32 KiB, not " + maxBytes + " bytes");
        }
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        this.anchors = Objects.requireNonNull(anchors, "anchors");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.limits = Objects.requireNonNull(limits, "limits");
        Ticker ticker = () -> TimeUnit.MILLISECONDS.toNanos(clock.millis());
        this.fetchBudget = new TokenBucket(limits, ticker::read);
        this.cache = Caffeine.newBuilder()
                .maximumWeight(maxBytes)
                .weigher((Key k, Entry e) -> e.weight())
                .executor(executor)
                .ticker(ticker)
                .expireAfter(new Expiry<Key, Entry>() {
                    @Override
                    public long expireAfterCreate(Key key, Entry e, long now) {
                        return lifetime(e);
                    }

                    @Override
                    public long expireAfterUpdate(Key key, Entry e, long now, long current) {
                        return lifetime(e);
                    }

                    @Override
                    public long expireAfterRead(Key key, Entry e, long now, long current) {
                        return current;
                    }
                })
                .buildAsync();
        changes.ifPresent(c -> c.addRefresher(this::refresh));
    }

    /**
     * Fetches every item authenticated before again and keeps the result when it authenticates and is
     * fresh (announcing it when its content changed); a failed fetch keeps the held item until its own
     * nextUpdate. Bypasses the fetch budget: it touches only keys already known (at most {@value
     * #MAX_REMEMBERED}). Only with a {@link CollateralChanges} hub are keys remembered.
     */
    public void refresh() {
        // The keys ever authenticated, not only those still held: an item past its nextUpdate has left the
        // cache, and its successor is exactly what a refresh is for.
        for (Key key : List.copyOf(lastSeen.keySet())) {
            Optional<X509Certificate> ca = key instanceof PckCrlKey k ? Optional.ofNullable(pckCas.get(k.ca()))
                    : Optional.empty();
            if (key instanceof PckCrlKey && ca.isEmpty()) {
                continue;
            }
            Entry e = load(key, ca);
            if (e instanceof Loaded) {
                cache.put(key, CompletableFuture.completedFuture(e));
            }
        }
    }

    /** Remembers the item's content; announces it when it differs from what was held before. */
    private void noteContent(Key key, Object value) {
        if (changes.isEmpty()) {
            return;
        }
        byte[] digest = digest(value);
        if (lastSeen.size() >= MAX_REMEMBERED && !lastSeen.containsKey(key)) {
            return;
        }
        byte[] previous = lastSeen.put(key, digest);
        if (previous != null && !java.util.Arrays.equals(previous, digest)) {
            changes.get().publish(change(key));
        }
    }

    private static CollateralChange change(Key key) {
        Set<TeeType> intel = Set.of(TeeType.SGX, TeeType.TDX);
        return switch (key) {
            case TcbInfoKey k -> new CollateralChange(describe(key), Set.of(k.tee()), Optional.of(k.fmspc()));
            case QeIdentityKey k -> new CollateralChange(describe(key), Set.of(k.tee()), Optional.empty());
            case PckCrlKey k -> new CollateralChange(describe(key), intel, Optional.empty());
            case RootCrlKey k -> new CollateralChange(describe(key), intel, Optional.empty());
        };
    }

    private static byte[] digest(Object value) {
        try {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            switch (value) {
                case SignedCollateral c -> {
                    md.update(c.body());
                    md.update(c.signature());
                }
                case PckCrl c -> md.update(c.der());
                case RootCaCrl c -> md.update(c.der());
                default -> md.update(value.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            return md.digest();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }

    private long lifetime(Entry e) {
        return switch (e) {
            case Loaded l -> Math.max(0, Duration.between(clock.instant(), l.nextUpdate()).toNanos());
            case Failed f -> limits.failureTtl().toNanos();
        };
    }

    /**
     * For each kind of collateral held ({@code tcb_info}, {@code qe_identity}, {@code pck_crl}, {@code root_crl}), the
     * earliest {@code nextUpdate} among the cached items of that kind; kinds with nothing cached are absent. An item
     * is dropped at its nextUpdate and fetched again on the next use, so an instant near now means a refetch is due
     * (and attestation fails closed if the source then has nothing newer). For monitoring.
     */
    public java.util.Map<String, Instant> earliestNextUpdates() {
        java.util.Map<String, Instant> out = new java.util.TreeMap<>();
        cache.synchronous().asMap().forEach((key, entry) -> {
            if (entry instanceof Loaded l) {
                String kind = switch (key) {
                    case TcbInfoKey k -> "tcb_info";
                    case QeIdentityKey k -> "qe_identity";
                    case PckCrlKey k -> "pck_crl";
                    case RootCrlKey k -> "root_crl";
                };
                out.merge(kind, l.nextUpdate(), (a, b) -> a.isBefore(b) ? a : b);
            }
        });
        return out;
    }

    /** Estimated bytes currently held by cached collateral (for tests and monitoring). */
    public long cachedBytes() {
        cache.synchronous().cleanUp();
        return cache.synchronous().policy().eviction().map(ev -> ev.weightedSize().orElse(0L)).orElse(0L);
    }

    /** Fetches and authenticates; never throws (a failure becomes a {@link Failed} entry). */
    private Entry load(Key key, Optional<X509Certificate> verifiedCa) {
        try {
            Loaded e = fetchAndAuthenticate(key, verifiedCa);
            if (!e.nextUpdate().isAfter(clock.instant())) {
                return new Failed("the collateral source returned " + describe(key) + " whose nextUpdate "
                        + e.nextUpdate() + " has passed; refusing stale collateral");
            }
            verifiedCa.ifPresent(ca -> pckCas.put(((PckCrlKey) key).ca(), ca));
            noteContent(key, e.value());
            return e;
        } catch (CollateralUnavailableException e) {
            return new Failed(e.getMessage() == null ? describe(key) + " unavailable" : e.getMessage());
        } catch (RuntimeException e) {
            return new Failed("fetching " + describe(key) + " failed: " + e);
        }
    }

    private Loaded fetchAndAuthenticate(Key key, Optional<X509Certificate> verifiedCa) throws CollateralUnavailableException {
        try {
            return switch (key) {
                case TcbInfoKey k -> {
                    SignedCollateral c = delegate.tcbInfo(k.tee(), k.fmspc());
                    CollateralAuthenticity.signedDocument(c, anchors, cert -> false, new HashMap<>(), "TCB Info");
                    TcbInfo t = TcbInfo.parse(c.body());
                    if (!t.fmspc().equalsIgnoreCase(k.fmspc())) {
                        throw new CollateralUnavailableException("the collateral source returned TCB Info for FMSPC "
                                + t.fmspc() + " when asked for " + k.fmspc());
                    }
                    yield new Loaded(c, t.nextUpdate(), weight(c.body().length + c.signature().length, c.issuerChain()));
                }
                case QeIdentityKey k -> {
                    SignedCollateral c = delegate.qeIdentity(k.tee());
                    CollateralAuthenticity.signedDocument(c, anchors, cert -> false, new HashMap<>(), "QE Identity");
                    yield new Loaded(c, QeIdentity.parse(c.body()).nextUpdate(),
                            weight(c.body().length + c.signature().length, c.issuerChain()));
                }
                case PckCrlKey k -> {
                    PckCrl c = verifiedCa.isPresent() ? delegate.pckCrl(k.ca(), verifiedCa.get()) : delegate.pckCrl(k.ca());
                    X509CRL crl = CollateralAuthenticity.pckCrl(c, verifiedCa, anchors);
                    String issuer = commonName(crl.getIssuerX500Principal());
                    if (!issuer.equals(k.ca().commonName())) {
                        throw new CollateralUnavailableException("the collateral source returned the CRL of '" + issuer
                                + "' when asked for the " + k.ca().commonName() + " CRL");
                    }
                    yield new Loaded(c, nextUpdate(crl, "PCK CRL"), weight(c.der().length, c.issuerChain()));
                }
                case RootCrlKey k -> {
                    RootCaCrl c = delegate.rootCaCrl();
                    X509CRL crl = CollateralAuthenticity.rootCaCrl(c.der(), anchors);
                    yield new Loaded(c, nextUpdate(crl, "Root CA CRL"), weight(c.der().length, List.of()));
                }
            };
        } catch (CollateralAuthenticityException e) {
            throw new CollateralUnavailableException("the collateral source returned " + describe(key)
                    + " that does not verify, so it is neither used nor cached: " + e.getMessage(), e);
        } catch (CollateralParseException e) {
            throw new CollateralUnavailableException("the collateral source returned " + describe(key)
                    + " that is not understood: " + e.getMessage(), e);
        }
    }

    /** Estimated heap bytes: the encodings, about four times each decoded certificate's DER, and overhead. */
    private static int weight(int bytes, List<X509Certificate> chain) {
        long w = ENTRY_OVERHEAD + (long) bytes;
        for (X509Certificate c : chain) {
            try {
                w += 4L * c.getEncoded().length;
            } catch (CertificateEncodingException e) {
                w += 4096;
            }
        }
        return (int) Math.min(Integer.MAX_VALUE, w);
    }

    private static String commonName(javax.security.auth.x500.X500Principal p) {
        try {
            for (javax.naming.ldap.Rdn rdn : new javax.naming.ldap.LdapName(p.getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return rdn.getValue().toString();
                }
            }
        } catch (javax.naming.InvalidNameException e) {
            return "";
        }
        return "";
    }

    private static Instant nextUpdate(X509CRL crl, String what) throws CollateralUnavailableException {
        if (crl.getNextUpdate() == null) {
            throw new CollateralUnavailableException(what + " has no nextUpdate");
        }
        return crl.getNextUpdate().toInstant();
    }

    private Object get(Key key, Optional<X509Certificate> verifiedCa) throws CollateralUnavailableException {
        for (int attempt = 0; attempt < 2; attempt++) {
            CompletableFuture<Entry> f = cache.getIfPresent(key);
            boolean[] fetchedNow = {false};
            if (f == null) {
                // The budget is checked before the cache is touched: a refused request leaves no trace.
                if (!fetchBudget.tryAcquire()) {
                    throw new CollateralUnavailableException("collateral fetches are rate-limited (" + limits.perSecond()
                            + " per second, bursts of " + limits.burst() + "); " + describe(key)
                            + " was not fetched, retry shortly");
                }
                f = cache.get(key, (k, executor) -> {
                    fetchedNow[0] = true;
                    return CompletableFuture.supplyAsync(() -> load(k, verifiedCa), executor);
                });
            }
            Entry e;
            try {
                e = f.join();
            } catch (CompletionException ce) {
                throw new CollateralUnavailableException("fetching " + describe(key) + " failed: " + ce.getCause(), ce.getCause());
            }
            switch (e) {
                case Failed failed -> throw new CollateralUnavailableException(failed.message() + (fetchedNow[0] ? ""
                        : " (a recent failure; retried after " + limits.failureTtl().toSeconds() + " s)"));
                case Loaded loaded -> {
                    if (loaded.nextUpdate().isAfter(clock.instant())) {
                        return loaded.value();
                    }
                }
            }
            // Past nextUpdate but not yet evicted (expiry granularity): drop it and fetch once more.
            cache.synchronous().invalidate(key);
        }
        throw new CollateralUnavailableException(describe(key) + " is past its nextUpdate and no newer one is available");
    }

    /** Number of authenticated items held (failures remembered are not counted). */
    long authenticatedItems() {
        return cache.synchronous().asMap().values().stream().filter(e -> e instanceof Loaded).count();
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
        if (!fmspc.matches("[0-9a-fA-F]{12}")) {
            throw new CollateralUnavailableException("FMSPC '" + fmspc + "' is not 6 bytes of hex");
        }
        return (SignedCollateral) get(new TcbInfoKey(tee, fmspc.toUpperCase(Locale.ROOT)), Optional.empty());
    }

    @Override
    public SignedCollateral qeIdentity(TeeType tee) throws CollateralUnavailableException {
        return (SignedCollateral) get(new QeIdentityKey(tee), Optional.empty());
    }

    /** The CRL, accepted only if it came with its issuer chain (use the two-argument form otherwise). */
    @Override
    public PckCrl pckCrl(PckCa ca) throws CollateralUnavailableException {
        return (PckCrl) get(new PckCrlKey(ca), Optional.empty());
    }

    @Override
    public PckCrl pckCrl(PckCa ca, X509Certificate verifiedCa) throws CollateralUnavailableException {
        return (PckCrl) get(new PckCrlKey(ca), Optional.of(verifiedCa));
    }

    @Override
    public RootCaCrl rootCaCrl() throws CollateralUnavailableException {
        return (RootCaCrl) get(new RootCrlKey(), Optional.empty());
    }
}
