package dev.attestmesh.authz;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The decision cache (Caffeine): decisions by peer certificate field (or principal) and required
 * policies, each reused only inside its {@link TimedDecision} window and at most {@link #MAX_TTL} (both checked on
 * every read, against the deciding clock's time the caller passes; Caffeine itself keeps no clock, so a hit reads
 * none of its own and an outlived entry stays until it is replaced, emptied or evicted by the weight bound).
 * A registry change drops the decisions it may alter ({@link #changed}): a change of one node only those
 * that read that node's record or the instances of a principal it was or is recorded under, a change of
 * everything (policies, trust bundle, mesh config, a resynchronisation) all of them. Each decision remembers
 * what it read and when ({@link ChangeStamps}; {@link #asOf()} is read before deciding and passed to {@link
 * #put}), so one computed while a change arrived is never reused, and a revocation applies from the next
 * Check. Keys by certificate are the field's exact bytes ({@link Key}). Bounded by weight:
 * one unit per started KiB of the field a key stands for, so the bound still follows what peers send.
 * Thread-safe.
 */
final class DecisionCache {
    /** Safety net: no decision outlives this even if a change notification were lost. */
    static final Duration MAX_TTL = Duration.ofSeconds(60);

    private final Cache<Key, Entry> cache; // null when disabled
    private final ChangeStamps stamps = new ChangeStamps();

    /** A kept decision, the {@linkplain ChangeStamps stripe} of what it read, and the change number it was made at. */
    private record Entry(TimedDecision timed, int stripe, long asOf) {}

    /** @param maximumWeight bound in units of one decision per started KiB of its key; 0 disables caching */
    DecisionCache(long maximumWeight) {
        if (maximumWeight < 0) {
            throw new IllegalArgumentException("decision cache size must be >= 0, was " + maximumWeight);
        }
        this.cache = maximumWeight == 0 ? null
                : Caffeine.newBuilder().maximumWeight(maximumWeight)
                        .weigher((Key k, Entry v) -> k.weight())
                        // Upkeep (eviction) on the deciding thread, a little per call, instead of a hand-off to the
                        // common pool that wakes another thread next to the event loops every few hundred Checks
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
     * caller must not modify it afterwards.
     */
    static Key byCertificate(byte[] certificateField, List<String> required) {
        return new Key(certificateField, 0, certificateField.length, true, "", required);
    }

    /**
     * A key for looking up the field at {@code [offset, offset + length)} of {@code source} (a request's own bytes),
     * which it refers to without copying; {@link #put} keeps a copy of the field, never the request.
     */
    static Key byCertificateSlice(byte[] source, int offset, int length, List<String> required) {
        return new Key(source, offset, length, false, "", required);
    }

    /** The key of a decision by principal alone. */
    static Key byPrincipal(String principal, List<String> required) {
        return new Key(null, 0, 0, true, principal, required);
    }

    /**
     * The cached decision for {@code key} if it may be reused at {@code nowMillis} (epoch ms of the clock that dated
     * the decisions) and nothing it read has changed since it was made, else null.
     */
    Decision get(Key key, long nowMillis) {
        Entry hit = cache == null ? null : cache.getIfPresent(key);
        return hit != null && hit.timed().usableAtMillis(nowMillis) && stamps.unchangedSince(hit.stripe(), hit.asOf())
                ? hit.timed().decision() : null;
    }

    /** The change number to pass to {@link #put}: read it before reading the registry for a decision. */
    long asOf() {
        return stamps.asOf();
    }

    /**
     * Keeps {@code decision}, which read the registry records of stripe {@code stripe} ({@link
     * ChangeStamps#nodeStripe}, {@link ChangeStamps#principalStripe}, or {@link ChangeStamps#NONE} for one that read
     * no record) after {@link #asOf()} returned {@code asOf}, unless they have changed since (it may be stale); for no
     * longer than a {@linkplain #safetyNetTtl() safety-net lifetime} after it was made. The key kept owns a copy of
     * its bytes.
     */
    void put(Key key, TimedDecision decision, int stripe, long asOf) {
        if (cache != null && stamps.unchangedSince(stripe, asOf)) {
            java.time.Instant cap = decision.decidedAt().plus(safetyNetTtl());
            TimedDecision kept = decision.validUntil().isAfter(cap)
                    ? new TimedDecision(decision.decision(), decision.decidedAt(), cap) // the same Decision instance
                    : decision;
            cache.put(key.owned(), new Entry(kept, stripe, asOf));
        }
    }

    /**
     * Drops the decisions {@code change} may alter: all of them for a change of everything (the entries are freed
     * at once), else those that read a named node or principal (found void on their next read and replaced).
     */
    void changed(RegistryChange change) {
        stamps.changed(change);
        if (change.everything() && cache != null) {
            cache.invalidateAll();
        }
    }

    void invalidateAll() {
        changed(RegistryChange.EVERYTHING);
    }

    /**
     * Cache key: what a decision depends on besides the time. For a decision by certificate, the certificate
     * field's exact bytes: two fields share a key only if they are the same bytes, so a field that differs in one
     * byte, or encodes the same certificate differently, is decided on its own. For a decision by principal, the
     * principal. Both carry the sorted required policy IDs. The decision itself needs nothing else from the
     * request: {@link CertificateDecider} reads only the field and the required policies, {@link PrincipalDecider}
     * only the principal and them.
     *
     * <p>The hash reads the field's length and two windows of it ({@link #sampledHash}), not every byte: a certificate's
     * public key lies in its middle and its signature just before the end, so two genuine certificates differ in both,
     * and the hash costs the same whatever the field's size. Equality compares every byte, so a hit costs one pass over
     * the field and no allocation besides this key. Such a hash is easy to collide on purpose (any fields alike in those
     * windows), and a caller of Check chooses the field; keys are therefore {@link Comparable} (by content): {@link
     * java.util.concurrent.ConcurrentHashMap}, under Caffeine, keeps colliding keys of a comparable class in a balanced
     * tree, so a flood of crafted collisions costs a logarithmic number of comparisons per lookup, not a linear scan.
     */
    static final class Key implements Comparable<Key> {
        /** Bytes read from the field's middle and from its end by the hash. */
        static final int MIDDLE_WINDOW = 32;
        static final int END_WINDOW = 96;
        private static final java.lang.invoke.VarHandle LONGS = java.lang.invoke.MethodHandles.byteArrayViewVarHandle(
                long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

        private final byte[] bytes; // the certificate field is [offset, offset + length); null for a key by principal
        private final int offset;
        private final int length;
        private final boolean owned; // bytes belong to this key (false: a lookup's view of a request's bytes)
        private final String principal;
        private final List<String> required;
        private final int hash;

        Key(byte[] bytes, int offset, int length, boolean owned, String principal, List<String> required) {
            this.bytes = bytes;
            this.offset = offset;
            this.length = length;
            this.owned = owned;
            this.principal = principal;
            this.required = required;
            this.hash = (bytes != null ? sampledHash(bytes, offset, length) : principal.hashCode()) * 31
                    + required.hashCode();
        }

        /** This key, or a copy that owns its bytes: what the cache keeps. */
        Key owned() {
            return owned ? this : new Key(Arrays.copyOfRange(bytes, offset, offset + length), 0, length, true, principal,
                    required);
        }

        /** The field's length, {@value #MIDDLE_WINDOW} bytes from its middle and its last {@value #END_WINDOW} bytes. */
        static int sampledHash(byte[] a, int offset, int length) {
            long h = length;
            int mid = offset + Math.max(0, length / 2 - MIDDLE_WINDOW / 2);
            h = mix(h, a, mid, Math.min(offset + length, mid + MIDDLE_WINDOW));
            h = mix(h, a, Math.max(mid + MIDDLE_WINDOW, offset + length - END_WINDOW), offset + length);
            return (int) (h ^ h >>> 32);
        }

        private static long mix(long h, byte[] a, int from, int to) {
            int i = from;
            for (; i + Long.BYTES <= to; i += Long.BYTES) {
                h = (h ^ (long) LONGS.get(a, i)) * 0x9E3779B97F4A7C15L;
                h ^= h >>> 29;
            }
            for (; i < to; i++) {
                h = (h ^ a[i]) * 0x9E3779B97F4A7C15L;
                h ^= h >>> 29;
            }
            return h;
        }

        /** One unit per started KiB of the field (or principal) this key stands for, as the cache bound counts. */
        int weight() {
            return 1 + (bytes != null ? length : principal.length()) / 1024;
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.hash == hash && (bytes == null ? k.bytes == null
                    : k.bytes != null && Arrays.equals(bytes, offset, offset + length, k.bytes, k.offset, k.offset + k.length))
                    && k.principal.equals(principal) && k.required.equals(required);
        }

        /** A total order consistent with {@link #equals}: keys by principal first, then by content. */
        @Override
        public int compareTo(Key o) {
            int c = Boolean.compare(bytes != null, o.bytes != null);
            if (c == 0 && bytes != null) {
                c = Arrays.compare(bytes, offset, offset + length, o.bytes, o.offset, o.offset + o.length);
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
            return bytes != null ? "Key[certificate of " + length + " bytes, hash " + Integer.toHexString(hash) + ", "
                    + required + "]" : "Key[principal " + principal + ", " + required + "]";
        }
    }
}
