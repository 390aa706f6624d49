package dev.attestmesh.authz;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.google.protobuf.ByteString;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The decision cache (Caffeine): decisions by peer certificate field (or principal) and required
 * policies, each reused only inside its {@link TimedDecision} window and at most {@link #MAX_TTL}.
 * Every registry change notification {@linkplain #invalidateAll() empties it}, and a decision computed
 * while a change arrived is not stored ({@link #generation()}), so a revocation applies from the next
 * Check. Bounded by weight: one unit per started KiB of key, so memory follows what peers send.
 * Thread-safe.
 */
final class DecisionCache {
    /** Safety net: no decision outlives this even if a change notification were lost. */
    static final Duration MAX_TTL = Duration.ofSeconds(60);
    private static final byte[] NO_CERTIFICATE = new byte[0];

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

    /** The key of a decision by peer certificate: the field's bytes exactly as sent. */
    static Key byCertificate(ByteString certificateField, List<String> required) {
        return new Key(certificateField.toByteArray(), "", required);
    }

    /** The key of a decision by principal alone. */
    static Key byPrincipal(String principal, List<String> required) {
        return new Key(NO_CERTIFICATE, principal, required);
    }

    /** The cached decision for {@code key} if it may be reused at {@code now}, else null. */
    Decision get(Key key, Instant now) {
        TimedDecision hit = cache == null ? null : cache.getIfPresent(key);
        return hit != null && hit.usableAt(now) ? hit.decision() : null;
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
     * Cache key: the certificate field's bytes exactly as sent (or the principal) and the sorted required
     * policy IDs. The full text, not a digest of it: equality is exact, and a hit costs a hash of the
     * bytes instead of a SHA-256 over the certificate (the hot path of every cached Check).
     */
    static final class Key {
        private final byte[] certificate;
        private final String principal;
        private final List<String> required;
        private final int hash;

        private Key(byte[] certificate, String principal, List<String> required) {
            this.certificate = certificate;
            this.principal = principal;
            this.required = required;
            // Arrays.hashCode and Arrays.equals are vectorised intrinsics; ByteString's are byte loops,
            // which cost a microsecond per Check for a 2.5 KiB certificate.
            this.hash = (Arrays.hashCode(certificate) * 31 + principal.hashCode()) * 31 + required.hashCode();
        }

        /** The certificate field as text (it is ASCII when well formed; anything else fails decoding). */
        String certificateText() {
            return new String(certificate, StandardCharsets.ISO_8859_1);
        }

        int weight() {
            return 1 + (certificate.length + principal.length()) / 1024;
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
    }
}
