package dev.attestmesh.admission.challenge;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.attestmesh.admission.NonceStore;
import java.time.Duration;
import java.util.concurrent.Executor;

/**
 * The token buckets in front of the nonce store ({@link ChallengeLimits}): per peer address and for all
 * anonymous callers, per node id for renewals. Anonymous calls take a token from their peer's bucket
 * first and from the shared bucket only if that succeeded, so one flooding address spends its own
 * tokens, not everyone's. Renewals never touch the anonymous buckets.
 *
 * <p>The per-key buckets live in Caffeine caches bounded to {@link #MAX_TRACKED_KEYS} entries, each
 * dropped once idle for as long as an empty bucket takes to fill (capped at an hour): by then a new
 * bucket is the same as the old one, so expiry loses nothing. Only an attacker with more distinct
 * addresses than the bound can make the size bound evict live buckets; the shared anonymous bucket
 * still holds them all to {@link ChallengeLimits#rate()}.
 *
 * <p>Buckets are per replica: with several replicas behind a balancer the effective rates add up.
 */
public final class ChallengeRateLimiter {
    /** Most peer addresses (and, separately, renewing node ids) whose buckets are kept. */
    public static final int MAX_TRACKED_KEYS = 100_000;
    private static final long MAX_IDLE_NANOS = Duration.ofHours(1).toNanos();

    private final ChallengeLimits limits;
    private final Ticker ticker;
    private final Cache<String, TokenBucket> peers;
    private final Cache<String, TokenBucket> renewals;
    private final TokenBucket anonymous;

    /** Production limiter: the system's monotonic clock. */
    public ChallengeRateLimiter(ChallengeLimits limits) {
        this(limits, Ticker.systemTicker(), null);
    }

    /**
     * @param ticker the monotonic clock (nanoseconds) for refills and idle expiry
     * @param executor runs cache maintenance; {@code null} for Caffeine's default (tests pass
     *     {@code Runnable::run} to make eviction deterministic)
     */
    public ChallengeRateLimiter(ChallengeLimits limits, Ticker ticker, Executor executor) {
        this.limits = limits;
        this.ticker = ticker;
        this.peers = cache(ticker, executor, TokenBucket.fillNanos(limits.peerRate(), limits.peerBurst()));
        this.renewals = cache(ticker, executor, TokenBucket.fillNanos(limits.renewalRate(), limits.renewalBurst()));
        this.anonymous = new TokenBucket(limits.rate(), limits.burst(), ticker.read());
    }

    private static Cache<String, TokenBucket> cache(Ticker ticker, Executor executor, long fillNanos) {
        Caffeine<Object, Object> b = Caffeine.newBuilder().maximumSize(MAX_TRACKED_KEYS).ticker(ticker)
                .expireAfterAccess(Duration.ofNanos(Math.min(fillNanos, MAX_IDLE_NANOS)));
        if (executor != null) {
            b.executor(executor);
        }
        return b.build();
    }

    /**
     * Takes the tokens a Challenge needs.
     *
     * @throws ChallengeLimitException naming the rate limit that refused it
     */
    public void acquire(String nodeId, NonceStore.Caller caller) {
        long now = ticker.read();
        if (caller.lane() == NonceStore.Lane.RENEWAL) {
            TokenBucket bucket = renewals.get(nodeId, k -> new TokenBucket(limits.renewalRate(), limits.renewalBurst(),
                    now));
            if (!bucket.tryTake(now)) {
                throw new ChallengeLimitException(ChallengeLimits.RENEWAL_RATE, "Challenge refused: renewal rate "
                        + "limit for node id '" + nodeId + "' reached (" + ChallengeLimits.RENEWAL_RATE + " = "
                        + rate(limits.renewalRate()) + "/s, " + ChallengeLimits.RENEWAL_BURST + " = "
                        + limits.renewalBurst() + "); retry in a few seconds");
            }
            return;
        }
        TokenBucket bucket = peers.get(caller.peer(), k -> new TokenBucket(limits.peerRate(), limits.peerBurst(), now));
        if (!bucket.tryTake(now)) {
            throw new ChallengeLimitException(ChallengeLimits.PEER_RATE, "Challenge refused: rate limit for peer "
                    + "address " + caller.peer() + " reached (" + ChallengeLimits.PEER_RATE + " = "
                    + rate(limits.peerRate()) + "/s, " + ChallengeLimits.PEER_BURST + " = " + limits.peerBurst()
                    + "); retry in a few seconds");
        }
        if (!anonymous.tryTake(now)) {
            throw new ChallengeLimitException(ChallengeLimits.RATE, "Challenge refused: the control plane's rate "
                    + "limit for unauthenticated Challenges is reached (" + ChallengeLimits.RATE + " = "
                    + rate(limits.rate()) + "/s, " + ChallengeLimits.BURST + " = " + limits.burst() + "); retry in a "
                    + "few seconds (renewals over mTLS are not affected)");
        }
    }

    /** Peer addresses whose buckets are currently kept (approximate; for tests and metrics). */
    public long trackedPeers() {
        peers.cleanUp();
        return peers.estimatedSize();
    }

    private static String rate(double r) {
        return r == Math.rint(r) ? Long.toString((long) r) : Double.toString(r);
    }
}
