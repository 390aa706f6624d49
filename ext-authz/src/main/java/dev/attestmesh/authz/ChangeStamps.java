package dev.attestmesh.authz;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * When the registry last changed what a cached verdict read, so that a change of one node drops only the
 * verdicts about that node (or its principals) instead of every verdict.
 *
 * <p>Every {@linkplain #changed change} takes the next number of one sequence. A verdict remembers the sequence
 * number {@linkplain #asOf() read before} it read the registry and the {@linkplain #nodeStripe stripe} of what it
 * read (a node or a principal, hashed into {@value #STRIPES} stripes; {@link #NONE} for a verdict that read no
 * node record: a certificate refused before its node was looked up, an operator-issued client certificate). It
 * holds while neither a change of everything nor a change of its stripe numbered after that read has arrived
 * ({@link #unchangedSince}). Since the number is read before the registry is, a change that lands while the
 * verdict is being made is numbered after it and voids it once recorded, as listeners run after the view has
 * changed. Nodes and principals that share a stripe void each other's verdicts: that costs a decision again,
 * never a stale one. Fixed size (128 KiB) whatever the registry holds or peers send; thread-safe and lock-free.
 */
final class ChangeStamps {
    /** Stripes of the node and principal space (a power of two). */
    static final int STRIPES = 1 << 14;
    /** The stripe of a verdict that read no node record: only a change of everything voids it. */
    static final int NONE = -1;

    private final AtomicLong sequence = new AtomicLong();
    private final AtomicLong everything = new AtomicLong(); // number of the last change of everything
    private final AtomicLongArray last = new AtomicLongArray(STRIPES); // number of the last change per stripe

    /** The number to remember with a verdict: read it before reading the registry. */
    long asOf() {
        return sequence.get();
    }

    /** The stripe of verdicts that read the record of node {@code nodeId}. */
    static int nodeStripe(String nodeId) {
        return spread(nodeId.hashCode());
    }

    /** The stripe of verdicts that read the instances of principal {@code spiffeId}. */
    static int principalStripe(String spiffeId) {
        return spread(spiffeId.hashCode() * 0x9E3779B9 + 0x632BE5AB); // apart from a node id of the same text
    }

    private static int spread(int h) {
        h ^= h >>> 16;
        h *= 0x85EBCA6B;
        h ^= h >>> 13;
        return h & (STRIPES - 1);
    }

    /** Whether nothing a verdict of {@code stripe} made at {@code asOf} read has changed since. */
    boolean unchangedSince(int stripe, long asOf) {
        return everything.get() <= asOf && (stripe == NONE || last.get(stripe) <= asOf);
    }

    /** Records {@code change}: every verdict it may alter no longer holds. */
    void changed(RegistryChange change) {
        long n = sequence.incrementAndGet();
        if (change.everything()) {
            everything.accumulateAndGet(n, Math::max);
            return;
        }
        for (String node : change.nodeIds()) {
            last.accumulateAndGet(nodeStripe(node), n, Math::max);
        }
        for (String principal : change.principals()) {
            last.accumulateAndGet(principalStripe(principal), n, Math::max);
        }
    }
}
