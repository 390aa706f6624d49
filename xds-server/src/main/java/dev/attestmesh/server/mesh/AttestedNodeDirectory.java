package dev.attestmesh.server.mesh;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The {@link AttestedNodeIdentity} of every node in the registry, kept current by the control plane
 * from the registry's change notifications, for membership by SPIFFE ID or registration. Thread-safe.
 */
public final class AttestedNodeDirectory {
    private final Map<String, AttestedNodeIdentity> byNode = new ConcurrentHashMap<>();
    private final AtomicLong generation = new AtomicLong();

    /** Records {@code nodeId}'s attested identity. */
    public void record(String nodeId, AttestedNodeIdentity identity) {
        AttestedNodeIdentity old = byNode.put(nodeId, identity);
        if (!identity.equals(old)) {
            generation.incrementAndGet(); // after the write (see EnvoyNodeDirectory#generation)
        }
    }

    /** A counter that goes up after every change. */
    public long generation() {
        return generation.get();
    }

    /** Every known node's identity (a copy). */
    public Map<String, AttestedNodeIdentity> identities() {
        return Map.copyOf(byNode);
    }

    /** The node's identity, or {@link AttestedNodeIdentity#UNKNOWN}. */
    public AttestedNodeIdentity identity(String nodeId) {
        return byNode.getOrDefault(nodeId, AttestedNodeIdentity.UNKNOWN);
    }
}
