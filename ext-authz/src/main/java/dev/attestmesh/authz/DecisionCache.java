package dev.attestmesh.authz;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The decision cache (Caffeine): decisions by peer certificate field (or principal) and required
 * policies, each reused only inside its {@link TimedDecision} window and at most {@link #MAX_TTL}.
 * Every registry change notification {@linkplain #invalidateAll() empties it}, and a decision computed
 * while a change arrived is not stored ({@link #generation()}), so a revocation applies from the next
 * Check. Keys by certificate are the field's exact bytes ({@link Key}). Bounded by weight:
 * one unit per started KiB of the field a key stands for, so the bound still follows what peers send.
 * Thread-safe.
 */
final class DecisionCache {
    /** Safety net: no decision outlives this even if a change notification were lost. */
    static final Duration MAX_TTL = Duration.ofSeconds(60);

    private final Cache<Key, TimedDecision> cache; // null when disabled
    private final AtomicLong generation = new AtomicLong();

    /** @param maximumWeight bound in units of one decision per started KiB of its key; 0 disables caching */
    DecisionCache(long maximumWeight) {
        if (maximumWeight < 0) {
            throw new IllegalArgumentException("decision cache size must be >= 0, was " + maximumWeight);
        }
        this.cache = maximumWeight == 0 ? null
                : Caffeine.newBuilder().maximumWeight(maximumWeight)
                        .weigher((Key k, TimedDecision v) -> k.weight())
                        .expireAfter(Expiry.writing((Key k, TimedDecision v) -> safetyNetTtl()))
                        // Upkeep (eviction, expiry) on the deciding thread, a little per call, instead of a hand-off to
                        // the common pool that wakes another thread next to the event loops every few hundred Checks
                        .executor(Runnable::run)
                        .build();
    }

    /**
     * Each cached decision's safety-net lifetime is drawn from [75%, 100%] of {@link #MAX_TTL}, so the
     * decisions of peers first seen together (after a restart or a registry change) do not all expire in
     * the same instant and send every peer through a full decision at once (a latency spike measured at
     * 8-18 ms p99 under 5,000 Checks/s before the spread).
     */
    static Duration safetyNetTtl() {
        long max = MAX_TTL.toMillis();
        return Duration.ofMillis(max - ThreadLocalRandom.current().nextLong(max / 4 + 1));
    }

    /**
     * The key of a decision by peer certificate: the field's bytes exactly as sent (still URL-encoded PEM, never
     * decoded for a hit) and the required policies. The key holds {@code certificateField} without copying it; the
     * caller must not modify it afterwards ({@link CheckFields} owns an array of its own per request).
     */
    static Key byCertificate(byte[] certificateField, List<String> required) {
        return new Key(certificateField, "", required);
    }

    /** The key of a decision by principal alone. */
    static Key byPrincipal(String principal, List<String> required) {
        return new Key(null, principal, required);
    }

    /** The cached decision for {@code key} if it may be reused at {@code nowMillis} (epoch ms), else null. */
    Decision get(Key key, long nowMillis) {
        TimedDecision hit = cache == null ? null : cache.getIfPresent(key);
        return hit != null && hit.usableAtMillis(nowMillis) ? hit.decision() : null;
    }

    /** Changes whenever the cache is emptied; read it before deciding, pass it to {@link #put}. */
    long generation() {
        return generation.get();
    }

    /** Keeps {@code decision} unless the cache was emptied since {@code generation} was read (it may be stale). */
    void put(Key key, TimedDecision decision, long generation) {
        if (cache != null && this.generation.get() == generation) {
            cache.put(key, decision);
        }
    }

    void invalidateAll() {
        generation.incrementAndGet();
        if (cache != null) {
            cache.invalidateAll();
        }
    }

    /**
     * Cache key: what a decision depends on besides the time. For a decision by certificate, the certificate
     * field's exact bytes: two fields share a key only if they are the same bytes, so a field that differs in one
     * byte, or encodes the same certificate differently, is decided on its own. For a decision by principal, the
     * principal. Both carry the sorted required policy IDs. The decision itself needs nothing else from the
     * request: {@link CertificateDecider} reads only the field and the required policies, {@link PrincipalDecider}
     * only the principal and them.
     *
     * <p>The hash is {@link Arrays#hashCode(byte[])} of the field (one vectorized pass, about ten times cheaper than
     * the SHA-256 it replaces) and equality compares every byte, so a hit costs two passes over the field and no
     * allocation besides this key. That hash is easy to collide on purpose, and a caller of Check chooses the field;
     * keys are therefore {@link Comparable} (by content): {@link java.util.concurrent.ConcurrentHashMap}, under
     * Caffeine, keeps colliding keys of a comparable class in a balanced tree, so a flood of crafted collisions costs
     * a logarithmic number of comparisons per lookup, not a linear scan.
     */
    static final class Key implements Comparable<Key> {
        private final byte[] certificate; // null for a key by principal
        private final String principal;
        private final List<String> required;
        private final int hash;

        Key(byte[] certificate, String principal, List<String> required) {
            this.certificate = certificate;
            this.principal = principal;
            this.required = required;
            this.hash = (certificate != null ? Arrays.hashCode(certificate) : principal.hashCode()) * 31
                    + required.hashCode();
        }

        /** One unit per started KiB of the field (or principal) this key stands for, as the cache bound counts. */
        int weight() {
            return 1 + (certificate != null ? certificate.length : principal.length()) / 1024;
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.hash == hash && Arrays.equals(k.certificate, certificate)
                    && k.principal.equals(principal) && k.required.equals(required);
        }

        /** A total order consistent with {@link #equals}: keys by principal first, then by content. */
        @Override
        public int compareTo(Key o) {
            int c = Boolean.compare(certificate != null, o.certificate != null);
            if (c == 0 && certificate != null) {
                c = Arrays.compare(certificate, o.certificate);
            }
            if (c == 0) {
                c = principal.compareTo(o.principal);
            }
            for (int i = 0; c == 0 && i < Math.min(required.size(), o.required.size()); i++) {
                c = required.get(i).compareTo(o.required.get(i));
            }
            return c != 0 ? c : Integer.compare(required.size(), o.required.size());
        }

        @Override
        public String toString() {
            return certificate != null ? "Key[certificate of " + certificate.length + " bytes, hash "
                    + Integer.toHexString(hash) + ", " + required + "]" : "Key[principal " + principal + ", " + required + "]";
        }
    }
}
