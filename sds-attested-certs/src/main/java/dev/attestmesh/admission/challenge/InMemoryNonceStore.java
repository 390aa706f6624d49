package dev.attestmesh.admission.challenge;

import dev.attestmesh.admission.NonceStore;
import dev.attestmesh.identity.KubernetesIdentity;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The nonce store of a single replica (embedded H2, or any setup where Challenge and Attest reach the
 * same process): nonces in memory, bounded as {@link NonceStore} describes. Each lane keeps its nonces in
 * issue order, which is also expiry order (one TTL), so expired nonces are reclaimed from the oldest end
 * in amortised constant time whenever a nonce is issued; the per-node and per-peer counts are kept
 * alongside. Nonces are held as four longs, not as strings: 100,000 nonces for distinct node ids take
 * about 36 MiB of heap. Thread-safe: every operation takes one short lock.
 */
public final class InMemoryNonceStore implements NonceStore {
    private record Key(long a, long b, long c, long d) {
        static Key of(byte[] nonce) {
            ByteBuffer buf = ByteBuffer.wrap(nonce);
            return new Key(buf.getLong(), buf.getLong(), buf.getLong(), buf.getLong());
        }
    }

    private record Outstanding(Key key, String nodeId, String peer, Instant expiresAt,
            Optional<KubernetesIdentity> kubernetes) {}

    /** One lane's nonces: in issue (= expiry) order, by node id, and counted by peer. */
    private static final class LaneState {
        final LinkedHashMap<Key, Outstanding> byAge = new LinkedHashMap<>();
        final Map<String, ArrayDeque<Outstanding>> byNode = new HashMap<>();
        final Map<String, Integer> byPeer = new HashMap<>();
        final int capacity;

        LaneState(int capacity) {
            this.capacity = capacity;
        }

        void add(Outstanding o) {
            byAge.put(o.key(), o);
            byNode.computeIfAbsent(o.nodeId(), n -> new ArrayDeque<>(4)).addLast(o);
            byPeer.merge(o.peer(), 1, Integer::sum);
        }

        /** Removes {@code o} from the node and peer indexes (the caller removed it from {@link #byAge}). */
        void unindex(Outstanding o) {
            ArrayDeque<Outstanding> node = byNode.get(o.nodeId());
            if (node != null) {
                node.remove(o);
                if (node.isEmpty()) {
                    byNode.remove(o.nodeId());
                }
            }
            byPeer.computeIfPresent(o.peer(), (p, n) -> n == 1 ? null : n - 1);
        }

        Outstanding remove(Key key) {
            Outstanding o = byAge.remove(key);
            if (o != null) {
                unindex(o);
            }
            return o;
        }

        void purgeExpired(Instant now) {
            for (Iterator<Outstanding> it = byAge.values().iterator(); it.hasNext(); ) {
                Outstanding o = it.next();
                if (!now.isAfter(o.expiresAt())) {
                    return; // the rest were issued later and expire later
                }
                it.remove();
                unindex(o);
            }
        }
    }

    private final SecureRandom random = new SecureRandom();
    private final Clock clock;
    private final Duration ttl;
    private final ChallengeLimits limits;
    private final EnumMap<Lane, LaneState> lanes = new EnumMap<>(Lane.class);

    public InMemoryNonceStore(Clock clock, Duration ttl, ChallengeLimits limits) {
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("nonce TTL must be positive, got " + ttl);
        }
        this.clock = clock;
        this.ttl = ttl;
        this.limits = limits;
        lanes.put(Lane.ANONYMOUS, new LaneState(limits.maxOutstanding()));
        lanes.put(Lane.RENEWAL, new LaneState(limits.renewalReserve()));
    }

    @Override
    public Issued issue(String nodeId, Optional<KubernetesIdentity> kubernetes, Caller caller) {
        byte[] nonce = new byte[32];
        random.nextBytes(nonce);
        Key key = Key.of(nonce);
        LaneState lane = lanes.get(caller.lane());
        synchronized (this) {
            Instant now = clock.instant();
            lane.purgeExpired(now);
            ArrayDeque<Outstanding> ofNode = lane.byNode.get(nodeId);
            Outstanding evict = ofNode != null && ofNode.size() >= limits.perNode() ? ofNode.peekFirst() : null;
            if (caller.lane() == Lane.ANONYMOUS) {
                int ofPeer = lane.byPeer.getOrDefault(caller.peer(), 0);
                boolean evictsOwn = evict != null && evict.peer().equals(caller.peer());
                if (ofPeer >= limits.perPeer() && !evictsOwn) {
                    throw perPeer(caller.peer(), limits, ttl);
                }
            }
            if (evict == null && lane.byAge.size() >= lane.capacity) {
                throw laneFull(caller.lane(), limits, ttl);
            }
            if (evict != null) {
                lane.remove(evict.key());
            }
            Instant expires = now.plus(ttl);
            lane.add(new Outstanding(key, nodeId, caller.peer(), expires, kubernetes));
            return new Issued(nonce, expires, nodeId);
        }
    }

    @Override
    public Outcome take(String nodeId, byte[] nonce) {
        if (nonce.length != 32) {
            return Rejection.MALFORMED;
        }
        Key key = Key.of(nonce);
        Outstanding o;
        synchronized (this) {
            o = lanes.get(Lane.ANONYMOUS).remove(key);
            if (o == null) {
                o = lanes.get(Lane.RENEWAL).remove(key);
            }
        }
        if (o == null) {
            return Rejection.UNKNOWN;
        }
        if (clock.instant().isAfter(o.expiresAt())) {
            return Rejection.EXPIRED;
        }
        if (!o.nodeId().equals(nodeId)) {
            return Rejection.OTHER_NODE;
        }
        return new Accepted(o.nodeId(), o.kubernetes());
    }

    @Override
    public synchronized int outstanding(Lane lane) {
        LaneState s = lanes.get(lane);
        s.purgeExpired(clock.instant());
        return s.byAge.size();
    }

    /** Outstanding anonymous nonces issued to {@code peer} (for tests). */
    public synchronized int outstandingForPeer(String peer) {
        return lanes.get(Lane.ANONYMOUS).byPeer.getOrDefault(peer, 0);
    }

    /** The refusal when a peer address holds {@link ChallengeLimits#perPeer()} anonymous nonces. */
    public static ChallengeLimitException perPeer(String peer, ChallengeLimits limits, Duration ttl) {
        return new ChallengeLimitException(ChallengeLimits.PER_PEER, "Challenge refused: peer address " + peer
                + " holds " + limits.perPeer() + " unused challenges (" + ChallengeLimits.PER_PEER + " = "
                + limits.perPeer() + "); attest with the nonces already issued or wait for them to expire ("
                + ttl.toSeconds() + " s)");
    }

    /** The refusal when a lane holds as many nonces as it may. */
    public static ChallengeLimitException laneFull(Lane lane, ChallengeLimits limits, Duration ttl) {
        if (lane == Lane.RENEWAL) {
            return new ChallengeLimitException(ChallengeLimits.RENEWAL_RESERVE, "Challenge refused: "
                    + limits.renewalReserve() + " renewal challenges are outstanding (" + ChallengeLimits.RENEWAL_RESERVE
                    + " = " + limits.renewalReserve() + "); retry in a few seconds");
        }
        return new ChallengeLimitException(ChallengeLimits.MAX_OUTSTANDING, "Challenge refused: "
                + limits.maxOutstanding() + " unauthenticated challenges are outstanding (" + ChallengeLimits.MAX_OUTSTANDING
                + " = " + limits.maxOutstanding() + "); retry after they expire (" + ttl.toSeconds() + " s). Renewals "
                + "over mTLS are not affected");
    }
}
