package dev.attestmesh.identity.kubernetes;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import dev.attestmesh.identity.TokenRejectedException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The issuer's public keys, fetched from a {@link KeySetFetcher} and cached.
 *
 * <p>Guarantees: keys are fetched again once {@code lifetime} has passed, or when a token names a
 * {@code kid} that the cached set lacks (a key rotation); but never twice within
 * {@code refreshInterval}, whatever triggered it, so a flood of tokens with bogus key ids costs the key
 * source at most one fetch per interval. Concurrent callers share one fetch. A failed fetch fails closed:
 * until a later fetch succeeds, keys past their lifetime are not used and tokens are refused with the
 * fetch error.
 */
final class IssuerKeys {
    /** Fetches the current key set; an error message names the source, never a secret. */
    @FunctionalInterface
    interface KeySetFetcher {
        JWKSet fetch() throws Exception;
    }

    private record Snapshot(JWKSet keys, Instant fetchedAt) {}

    private final KeySetFetcher fetcher;
    private final String sourceName;
    private final Duration lifetime;
    private final Duration refreshInterval;
    private final Clock clock;
    private final AtomicLong fetches = new AtomicLong();
    private volatile Snapshot current;
    private volatile Instant lastAttempt;
    private volatile String lastFailure;

    IssuerKeys(KeySetFetcher fetcher, String sourceName, Duration lifetime, Duration refreshInterval, Clock clock) {
        this.fetcher = fetcher;
        this.sourceName = sourceName;
        this.lifetime = lifetime;
        this.refreshInterval = refreshInterval;
        this.clock = clock;
    }

    /**
     * The keys a token with this key id may be signed by: those with that {@code kid}, or every key when
     * the token names none (PEM keys have no id either). Never empty.
     *
     * @throws TokenRejectedException when the keys cannot be fetched, or no key has that id even after
     *     the one refresh the rate limit allows
     */
    List<JWK> candidates(Optional<String> kid) throws TokenRejectedException {
        Snapshot snap = fresh();
        List<JWK> found = select(snap, kid);
        if (found.isEmpty() && kid.isPresent()) {
            // Possibly a rotation since the last fetch: one refresh, rate-limited.
            Snapshot before = snap;
            snap = refresh(before);
            found = select(snap, kid);
            if (found.isEmpty()) {
                throw new TokenRejectedException("signature check failed: no key with id '"
                        + ClaimChecks.sanitize(kid.get(), 64) + "' among the issuer's keys from " + sourceName
                        + (snap != before ? " (fetched just now)" : lastFailure != null ? " (" + lastFailure + ")"
                        : " (keys are refetched at most once per " + refreshInterval.toSeconds()
                        + " s; retry later if the issuer just rotated its key)"));
            }
        }
        if (found.isEmpty()) {
            throw new TokenRejectedException("signature check failed: the issuer's key set from " + sourceName
                    + " holds no key");
        }
        return found;
    }

    /** How many fetches were attempted (for tests and metrics). */
    long fetchCount() {
        return fetches.get();
    }

    private Snapshot fresh() throws TokenRejectedException {
        Snapshot snap = current;
        if (snap != null && clock.instant().isBefore(snap.fetchedAt().plus(lifetime))) {
            return snap;
        }
        snap = refresh(snap);
        if (snap == null || !clock.instant().isBefore(snap.fetchedAt().plus(lifetime))) {
            throw new TokenRejectedException("signature check failed: the issuer's keys are unavailable: "
                    + (lastFailure == null ? "not fetched yet" : lastFailure)
                    + "; the next attempt is at most " + refreshInterval.toSeconds() + " s away");
        }
        return snap;
    }

    /**
     * Fetches again unless another caller already did since {@code seen} or the last attempt is within
     * the refresh interval; returns the (possibly unchanged) current snapshot.
     */
    private synchronized Snapshot refresh(Snapshot seen) {
        if (current != seen) {
            return current;
        }
        Instant now = clock.instant();
        if (lastAttempt != null && now.isBefore(lastAttempt.plus(refreshInterval))) {
            return current;
        }
        lastAttempt = now;
        fetches.incrementAndGet();
        try {
            JWKSet keys = fetcher.fetch();
            current = new Snapshot(keys, now);
            lastFailure = null;
        } catch (Exception e) {
            lastFailure = "cannot fetch keys from " + sourceName + ": "
                    + ClaimChecks.sanitize(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage(), 300);
        }
        return current;
    }

    private static List<JWK> select(Snapshot snap, Optional<String> kid) {
        if (snap == null) {
            return List.of();
        }
        List<JWK> keys = snap.keys().getKeys().stream().filter(k -> !k.isPrivate()).toList();
        if (kid.isEmpty()) {
            return keys;
        }
        List<JWK> named = keys.stream().filter(k -> kid.get().equals(k.getKeyID())).toList();
        // Keys without an id (PEM files) may have signed any token.
        return named.isEmpty() ? keys.stream().filter(k -> k.getKeyID() == null).toList() : named;
    }
}
