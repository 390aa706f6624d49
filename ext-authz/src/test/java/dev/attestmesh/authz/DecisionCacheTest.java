package dev.attestmesh.authz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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
        long before = cache.asOf();
        cache.invalidateAll(); // a registry change while the decision was being made
        cache.put(key, allow, ChangeStamps.NONE, before);
        assertNull(cache.get(key, NOW.toEpochMilli()));
        cache.put(key, allow, ChangeStamps.NONE, cache.asOf());
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
     * The key's hash reads only the field's length and two windows of it, so it is easy to collide on purpose (every
     * field alike there), and a caller of Check chooses the field. Colliding keys stay distinct, are ordered
     * consistently with equality, and so land in ConcurrentHashMap's balanced tree bins (a lookup among 4,096
     * colliding entries finds each one) rather than degrading to a list.
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

    /** The i-th of 4,096 2,500-byte fields that differ only in their first 12 bytes, which the hash does not read. */
    private static byte[] colliding(int i) {
        byte[] field = "%0AMIIB".repeat(400).substring(0, 2500).getBytes(StandardCharsets.US_ASCII);
        for (int j = 0; j < 12; j++) {
            field[j] = (byte) ((i >> j & 1) == 0 ? 'A' : 'B');
        }
        return field;
    }

    /** Genuine certificates differ in their public key and signature: the windows the hash reads. */
    @Test
    void theSampledHashSeesTheMiddleAndTheEndOfTheField() {
        byte[] field = "-----BEGIN%20CERTIFICATE-----%0AMIIB".repeat(60).getBytes(StandardCharsets.US_ASCII);
        int base = DecisionCache.Key.sampledHash(field, 0, field.length);
        Set<Integer> changedAt = new HashSet<>();
        for (int i = 0; i < field.length; i++) {
            byte[] other = field.clone();
            other[i] ^= 1;
            if (DecisionCache.Key.sampledHash(other, 0, other.length) != base) {
                changedAt.add(i);
            }
        }
        int mid = field.length / 2 - DecisionCache.Key.MIDDLE_WINDOW / 2;
        for (int i = 0; i < DecisionCache.Key.MIDDLE_WINDOW; i++) {
            assertTrue(changedAt.contains(mid + i), "a change in the middle window at " + (mid + i));
        }
        for (int i = field.length - DecisionCache.Key.END_WINDOW; i < field.length; i++) {
            assertTrue(changedAt.contains(i), "a change in the end window at " + i);
        }
        assertTrue(DecisionCache.Key.sampledHash(field, 0, field.length - 1) != base, "the length is hashed");
        // A slice hashes as the same bytes in an array of their own
        byte[] padded = new byte[field.length + 10];
        System.arraycopy(field, 0, padded, 7, field.length);
        assertEquals(base, DecisionCache.Key.sampledHash(padded, 7, field.length));
        // Short fields are hashed whole
        assertTrue(DecisionCache.Key.sampledHash(bytes("abc"), 0, 3) != DecisionCache.Key.sampledHash(bytes("abd"), 0, 3));
    }

    /**
     * A lookup refers to the request's bytes; what the cache keeps is a copy of the field alone, so neither a change to
     * those bytes afterwards (the request's array is the transport's to reuse) nor the rest of the request stays in it.
     */
    @Test
    void aLookupByASliceFindsTheDecisionAndTheCacheKeepsItsOwnCopy() {
        DecisionCache cache = new DecisionCache(100);
        byte[] request = ("head" + "x".repeat(1500) + "tail").getBytes(StandardCharsets.US_ASCII);
        DecisionCache.Key slice = DecisionCache.byCertificateSlice(request, 4, 1500, List.of("default"));
        assertEquals(DecisionCache.byCertificate(bytes("x".repeat(1500)), List.of("default")), slice);
        assertEquals(2, slice.weight(), "the field's size, not the request's");
        TimedDecision d = TimedDecision.deny("x", NOW);
        cache.put(slice, d, ChangeStamps.NONE, cache.asOf());
        java.util.Arrays.fill(request, (byte) 'y');
        assertSame(d.decision(), cache.get(DecisionCache.byCertificate(bytes("x".repeat(1500)), List.of("default")),
                NOW.toEpochMilli()));
        assertNull(cache.get(DecisionCache.byCertificateSlice(request, 4, 1500, List.of("default")), NOW.toEpochMilli()));
    }

    /** The safety net holds whatever window the decision has: no decision is reused 60 s after it was made. */
    @Test
    void noDecisionIsReusedPastTheSafetyNet() {
        DecisionCache cache = new DecisionCache(100);
        DecisionCache.Key key = DecisionCache.byPrincipal("spiffe://a/b", List.of());
        TimedDecision longLived = new TimedDecision(new Decision.Deny("long"), NOW, NOW.plus(Duration.ofHours(1)));
        cache.put(key, longLived, ChangeStamps.NONE, cache.asOf());
        assertSame(longLived.decision(), cache.get(key, NOW.plusSeconds(44).toEpochMilli()), "within 45 s: reused");
        assertNull(cache.get(key, NOW.plus(DecisionCache.MAX_TTL).toEpochMilli()), "at 60 s: decided afresh");
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void aDisabledCacheKeepsNothing() {
        DecisionCache cache = new DecisionCache(0);
        DecisionCache.Key key = DecisionCache.byPrincipal("spiffe://a/b", List.of());
        cache.put(key, TimedDecision.deny("x", NOW), ChangeStamps.NONE, cache.asOf());
        assertNull(cache.get(key, NOW.toEpochMilli()));
    }
    @Test
    void aNodeChangeDropsOnlyTheDecisionsThatReadThatNode() {
        assertNotEquals(ChangeStamps.nodeStripe("node-a"), ChangeStamps.nodeStripe("node-b"), "test ids must not share a stripe");
        DecisionCache cache = new DecisionCache(100);
        DecisionCache.Key a = DecisionCache.byCertificate(bytes("cert of node-a"), List.of("default"));
        DecisionCache.Key b = DecisionCache.byCertificate(bytes("cert of node-b"), List.of("default"));
        DecisionCache.Key unread = DecisionCache.byCertificate(bytes("not a certificate"), List.of("default"));
        TimedDecision d = TimedDecision.deny("x", NOW);
        cache.put(a, d, ChangeStamps.nodeStripe("node-a"), cache.asOf());
        cache.put(b, d, ChangeStamps.nodeStripe("node-b"), cache.asOf());
        cache.put(unread, d, ChangeStamps.NONE, cache.asOf());

        cache.changed(RegistryChange.node("node-a", "spiffe://td/node/node-a", "spiffe://td/node/node-a"));
        long now = NOW.toEpochMilli();
        assertNull(cache.get(a, now), "node-a changed: its decision is made again");
        assertSame(d.decision(), cache.get(b, now), "node-b did not change");
        assertSame(d.decision(), cache.get(unread, now), "a decision that read no node survives node changes");

        cache.put(a, d, ChangeStamps.nodeStripe("node-a"), cache.asOf()); // decided again after the change: kept
        assertSame(d.decision(), cache.get(a, now));

        cache.changed(RegistryChange.EVERYTHING);
        assertNull(cache.get(a, now));
        assertNull(cache.get(b, now));
        assertNull(cache.get(unread, now), "a change of everything (trust bundle, policies) drops every decision");
    }

    @Test
    void aPrincipalsDecisionIsDroppedWhenAnInstanceJoinsLeavesOrChanges() {
        DecisionCache cache = new DecisionCache(100);
        String payments = "spiffe://td/ns/shop/sa/payments";
        DecisionCache.Key key = DecisionCache.byPrincipal(payments, List.of("default"));
        TimedDecision d = TimedDecision.deny("x", NOW);
        long now = NOW.toEpochMilli();
        // pod-2 moves from payments to another service account: payments' instances changed
        cache.put(key, d, ChangeStamps.principalStripe(payments), cache.asOf());
        cache.changed(RegistryChange.node("pod-2", payments, "spiffe://td/ns/shop/sa/other"));
        assertNull(cache.get(key, now));
        // pod-3 moves into payments
        cache.put(key, d, ChangeStamps.principalStripe(payments), cache.asOf());
        cache.changed(RegistryChange.node("pod-3", "spiffe://td/ns/shop/sa/other", payments));
        assertNull(cache.get(key, now));
        // a new pod of payments
        cache.put(key, d, ChangeStamps.principalStripe(payments), cache.asOf());
        cache.changed(RegistryChange.node("pod-4", null, payments));
        assertNull(cache.get(key, now));
        // a pod of an unrelated service account
        cache.put(key, d, ChangeStamps.principalStripe(payments), cache.asOf());
        assertNotEquals(ChangeStamps.principalStripe(payments), ChangeStamps.principalStripe("spiffe://td/ns/shop/sa/cart"));
        assertNotEquals(ChangeStamps.principalStripe(payments), ChangeStamps.nodeStripe("pod-5"));
        cache.changed(RegistryChange.node("pod-5", null, "spiffe://td/ns/shop/sa/cart"));
        assertSame(d.decision(), cache.get(key, now));
    }

    @Test
    void aChangeOfTheNodeWhileItsDecisionIsMadeVoidsTheDecision() {
        DecisionCache cache = new DecisionCache(100);
        DecisionCache.Key key = DecisionCache.byCertificate(bytes("cert of node-a"), List.of("default"));
        TimedDecision allow = TimedDecision.deny("stands for an allow read before the revocation", NOW);
        int stripe = ChangeStamps.nodeStripe("node-a");
        long asOf = cache.asOf(); // the decider reads this, then the registry
        cache.changed(RegistryChange.node("node-a", "spiffe://td/node/node-a", "spiffe://td/node/node-a")); // revoked
        cache.put(key, allow, stripe, asOf);
        assertNull(cache.get(key, NOW.toEpochMilli()), "not kept: it may rest on the record before the revocation");

        long asOf2 = cache.asOf(); // put first, the change arrives right after
        cache.put(key, allow, stripe, asOf2);
        cache.changed(RegistryChange.node("node-a", "spiffe://td/node/node-a", "spiffe://td/node/node-a"));
        assertNull(cache.get(key, NOW.toEpochMilli()), "kept, but void from the change on");
    }

    @Test
    void changeStampsSpreadNodesOverTheStripes() {
        int[] load = new int[ChangeStamps.STRIPES];
        int max = 0;
        for (int i = 0; i < 20_000; i++) {
            max = Math.max(max, ++load[ChangeStamps.nodeStripe("node-" + i)]);
        }
        assertTrue(max <= 8, "20,000 sequential node ids put " + max + " in one stripe");
        ChangeStamps stamps = new ChangeStamps();
        long asOf = stamps.asOf();
        stamps.changed(RegistryChange.node("node-1", null, "spiffe://td/node/node-1"));
        assertTrue(!stamps.unchangedSince(ChangeStamps.nodeStripe("node-1"), asOf));
        assertTrue(!stamps.unchangedSince(ChangeStamps.principalStripe("spiffe://td/node/node-1"), asOf));
        assertTrue(stamps.unchangedSince(ChangeStamps.NONE, asOf));
        assertTrue(stamps.unchangedSince(ChangeStamps.nodeStripe("node-1"), stamps.asOf()));
    }

    @Test
    void changesNamingTooManyNodesOrNoneAreChangesOfEverything() {
        List<String> many = java.util.stream.IntStream.rangeClosed(0, RegistryChange.MAX_NAMED).mapToObj(i -> "n" + i).toList();
        assertSame(RegistryChange.EVERYTHING, RegistryChange.nodes(many, List.of()));
        assertSame(RegistryChange.EVERYTHING, RegistryChange.nodes(List.of(), List.of("spiffe://td/x")));
        assertSame(RegistryChange.EVERYTHING, RegistryChange.nodes(List.of("n"), many));
        RegistryChange one = RegistryChange.nodes(many.subList(0, RegistryChange.MAX_NAMED), List.of("spiffe://td/x"));
        assertTrue(!one.everything());
        assertEquals(RegistryChange.MAX_NAMED, one.nodeIds().size());
    }

    @Test
    void aCallerChosenPrincipalThatSharesAStripeWithANodeOnlyVoidsMore() {
        // The principal of a Check is the caller's text: one crafted to share node-a's stripe must not keep
        // node-a's decision alive past node-a's change; sharing a stripe only makes both be decided again
        int target = ChangeStamps.nodeStripe("node-a");
        String crafted = null;
        for (int i = 0; crafted == null && i < 10_000_000; i++) {
            String p = "spiffe://td/ns/x/sa/" + i;
            if (ChangeStamps.principalStripe(p) == target) {
                crafted = p;
            }
        }
        assertTrue(crafted != null, "a colliding principal exists among the first 10 million");
        DecisionCache cache = new DecisionCache(100);
        DecisionCache.Key byNode = DecisionCache.byCertificate(bytes("cert of node-a"), List.of("default"));
        DecisionCache.Key byCrafted = DecisionCache.byPrincipal(crafted, List.of("default"));
        TimedDecision d = TimedDecision.deny("x", NOW);
        long now = NOW.toEpochMilli();
        cache.put(byNode, d, target, cache.asOf());
        cache.put(byCrafted, d, ChangeStamps.principalStripe(crafted), cache.asOf());
        cache.changed(RegistryChange.node("pod-z", null, crafted)); // a change the crafted principal can cause
        assertNull(cache.get(byNode, now), "voided too: decided again, never kept stale");
        assertNull(cache.get(byCrafted, now));
        cache.put(byNode, d, target, cache.asOf());
        cache.changed(RegistryChange.node("node-a", "spiffe://td/node/node-a", "spiffe://td/node/node-a"));
        assertNull(cache.get(byNode, now), "node-a's own change always voids its decision");
    }
}
