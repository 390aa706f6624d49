package dev.attestmesh.authz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.time.Duration;
import java.time.Instant;
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
        DecisionCache.Key key = DecisionCache.byCertificate(ByteString.copyFromUtf8("cert"), List.of("default"));
        TimedDecision allow = TimedDecision.deny("x", NOW);
        long before = cache.generation();
        cache.invalidateAll(); // a registry change while the decision was being made
        cache.put(key, allow, before);
        assertNull(cache.get(key, NOW));
        cache.put(key, allow, cache.generation());
        assertSame(allow.decision(), cache.get(key, NOW));
        assertNull(cache.get(key, NOW.plus(TimedDecision.DENY_TTL)), "not reused past its window");
    }

    @Test
    void keysByCertificateAndByPrincipalDifferAndWeighByKibibyte() {
        DecisionCache.Key a = DecisionCache.byCertificate(ByteString.copyFromUtf8("x".repeat(2500)), List.of());
        DecisionCache.Key b = DecisionCache.byCertificate(ByteString.copyFromUtf8("x".repeat(2500)), List.of());
        assertEquals(a, b);
        assertEquals(3, a.weight());
        assertTrue(!a.equals(DecisionCache.byPrincipal("x".repeat(2500), List.of())));
        assertTrue(!a.equals(DecisionCache.byCertificate(ByteString.copyFromUtf8("x".repeat(2500)), List.of("p"))));
    }

    @Test
    void keysByCertificateAreTheDigestOfTheExactBytes() {
        byte[] field = "-----BEGIN%20CERTIFICATE-----%0AMIIB".repeat(60).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        DecisionCache.Key a = DecisionCache.byCertificate(ByteString.copyFrom(field), List.of("default"));
        for (int i = 0; i < field.length; i += 97) {
            byte[] other = field.clone();
            other[i] ^= 1;
            DecisionCache.Key b = DecisionCache.byCertificate(ByteString.copyFrom(other), List.of("default"));
            assertTrue(!a.equals(b), "one byte changed at " + i);
        }
        // The same bytes however protobuf holds them (a slice of a larger buffer, a rope) give the same key
        byte[] padded = new byte[field.length + 10];
        System.arraycopy(field, 0, padded, 5, field.length);
        assertEquals(a, DecisionCache.byCertificate(ByteString.copyFrom(padded).substring(5, 5 + field.length),
                List.of("default")));
        ByteString rope = ByteString.copyFrom(field, 0, 100).concat(ByteString.copyFrom(field, 100, field.length - 100));
        assertEquals(a, DecisionCache.byCertificate(rope, List.of("default")));
        assertEquals(a.hashCode(), DecisionCache.byCertificate(rope, List.of("default")).hashCode());
        // A prefix is not the field: the length and the digest both differ
        assertTrue(!a.equals(DecisionCache.byCertificate(ByteString.copyFrom(field, 0, field.length - 1), List.of("default"))));
    }

    @Test
    void aDisabledCacheKeepsNothing() {
        DecisionCache cache = new DecisionCache(0);
        DecisionCache.Key key = DecisionCache.byPrincipal("spiffe://a/b", List.of());
        cache.put(key, TimedDecision.deny("x", NOW), cache.generation());
        assertNull(cache.get(key, NOW));
    }
}
