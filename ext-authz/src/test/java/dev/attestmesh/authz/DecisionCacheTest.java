package dev.attestmesh.authz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class DecisionCacheTest {
    private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");

    @Test
    void safetyNetLifetimesAreSpreadOverTheLastQuarterOfTheMaximum() {
        Set<Duration> seen = new HashSet<>();
        for (int i = 0; i < 2000; i++) {
            Duration ttl = DecisionCache.safetyNetTtl();
            assertTrue(ttl.compareTo(Duration.ofSeconds(45)) >= 0 && ttl.compareTo(Duration.ofSeconds(60)) <= 0,
                    "lifetime " + ttl + " outside [45 s, 60 s]");
            seen.add(ttl);
        }
        assertTrue(seen.size() > 500, "lifetimes must differ so peers cached together do not expire together");
    }

    @Test
    void aDecisionComputedAcrossAnInvalidationIsNotKept() {
        DecisionCache cache = new DecisionCache(100);
        DecisionCache.Key key = DecisionCache.byCertificate(bytes("cert"), List.of("default"));
        TimedDecision allow = TimedDecision.deny("x", NOW);
        long before = cache.generation();
        cache.invalidateAll(); // a registry change while the decision was being made
        cache.put(key, allow, before);
        assertNull(cache.get(key, NOW.toEpochMilli()));
        cache.put(key, allow, cache.generation());
        assertSame(allow.decision(), cache.get(key, NOW.toEpochMilli()));
        assertNull(cache.get(key, NOW.plus(TimedDecision.DENY_TTL).toEpochMilli()), "not reused past its window");
    }

    @Test
    void keysByCertificateAndByPrincipalDifferAndWeighByKibibyte() {
        DecisionCache.Key a = DecisionCache.byCertificate(bytes("x".repeat(2500)), List.of());
        DecisionCache.Key b = DecisionCache.byCertificate(bytes("x".repeat(2500)), List.of());
        assertEquals(a, b);
        assertEquals(3, a.weight());
        assertTrue(!a.equals(DecisionCache.byPrincipal("x".repeat(2500), List.of())));
        assertTrue(!a.equals(DecisionCache.byCertificate(bytes("x".repeat(2500)), List.of("p"))));
    }

    @Test
    void keysByCertificateAreTheExactBytes() {
        byte[] field = "-----BEGIN%20CERTIFICATE-----%0AMIIB".repeat(60).getBytes(StandardCharsets.US_ASCII);
        DecisionCache.Key a = DecisionCache.byCertificate(field, List.of("default"));
        for (int i = 0; i < field.length; i += 97) {
            byte[] other = field.clone();
            other[i] ^= 1;
            DecisionCache.Key b = DecisionCache.byCertificate(other, List.of("default"));
            assertTrue(!a.equals(b), "one byte changed at " + i);
            assertTrue(a.compareTo(b) != 0 && Integer.signum(a.compareTo(b)) == -Integer.signum(b.compareTo(a)));
        }
        assertEquals(a, DecisionCache.byCertificate(field.clone(), List.of("default")));
        assertEquals(0, a.compareTo(DecisionCache.byCertificate(field.clone(), List.of("default"))));
        // A prefix is not the field
        assertTrue(!a.equals(DecisionCache.byCertificate(Arrays.copyOf(field, field.length - 1), List.of("default"))));
    }

    /**
     * The key's hash is easy to collide on purpose ("Aa" and "BB" hash alike, and so does every string of such
     * pairs), and a caller of Check chooses the field. Colliding keys stay distinct, are ordered consistently with
     * equality, and so land in ConcurrentHashMap's balanced tree bins (a lookup among 4,096 colliding entries
     * finds each one) rather than degrading to a list.
     */
    @Test
    void craftedHashCollisionsStayDistinctAndOrdered() {
        List<DecisionCache.Key> keys = new java.util.ArrayList<>();
        for (int i = 0; i < 4096; i++) {
            keys.add(DecisionCache.byCertificate(colliding(i), List.of("default")));
        }
        assertEquals(1, keys.stream().mapToInt(Object::hashCode).distinct().count(), "the crafted fields collide");
        assertTrue(Comparable.class.isAssignableFrom(DecisionCache.Key.class));
        java.util.concurrent.ConcurrentHashMap<DecisionCache.Key, Integer> map = new java.util.concurrent.ConcurrentHashMap<>();
        for (int i = 0; i < keys.size(); i++) {
            map.put(keys.get(i), i);
        }
        assertEquals(keys.size(), map.size());
        for (int i = 0; i < keys.size(); i++) {
            assertEquals(i, map.get(DecisionCache.byCertificate(colliding(i), List.of("default"))));
        }
        List<DecisionCache.Key> sorted = new java.util.ArrayList<>(keys);
        sorted.sort(null);
        for (int i = 1; i < sorted.size(); i++) {
            assertTrue(sorted.get(i - 1).compareTo(sorted.get(i)) < 0, "a strict total order");
        }
    }

    /** The i-th of 4,096 24-byte fields with the same {@link Arrays#hashCode(byte[])}. */
    private static byte[] colliding(int i) {
        StringBuilder b = new StringBuilder();
        for (int j = 0; j < 12; j++) {
            b.append((i >> j & 1) == 0 ? "Aa" : "BB");
        }
        return bytes(b.toString());
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void aDisabledCacheKeepsNothing() {
        DecisionCache cache = new DecisionCache(0);
        DecisionCache.Key key = DecisionCache.byPrincipal("spiffe://a/b", List.of());
        cache.put(key, TimedDecision.deny("x", NOW), cache.generation());
        assertNull(cache.get(key, NOW.toEpochMilli()));
    }
}
