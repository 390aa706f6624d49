package dev.attestmesh.server.mesh;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The {@link EnvoyNodeIdentity} each attested node last presented on an authenticated xDS stream.
 * Kept in memory only: after a control plane restart every proxy reconnects and presents it again, and
 * until then membership by cluster or metadata does not match that node. Thread-safe; listeners run
 * after a node's identity changes (not when it is presented again unchanged).
 */
public final class EnvoyNodeDirectory {
    private final Map<String, EnvoyNodeIdentity> byNode = new ConcurrentHashMap<>();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private final AtomicLong generation = new AtomicLong();

    /** Records what {@code nodeId} presented; runs the listeners when it differs from before. */
    public void record(String nodeId, EnvoyNodeIdentity identity) {
        EnvoyNodeIdentity old = byNode.put(nodeId, identity);
        if (!identity.equals(old)) {
            generation.incrementAndGet(); // after the write, so a reader that saw this generation sees the write
            listeners.forEach(Runnable::run);
        }
    }

    /**
     * A counter that goes up after every change; a result computed from {@link #identities()} read
     * after {@code generation()} returned g is at least as new as generation g.
     */
    public long generation() {
        return generation.get();
    }

    /** Every node that presented itself, with what it presented (a copy). */
    public Map<String, EnvoyNodeIdentity> identities() {
        return Map.copyOf(byNode);
    }

    /** What the node presented, or {@link EnvoyNodeIdentity#UNKNOWN} when it has not connected. */
    public EnvoyNodeIdentity identity(String nodeId) {
        return byNode.getOrDefault(nodeId, EnvoyNodeIdentity.UNKNOWN);
    }

    public void addChangeListener(Runnable r) {
        listeners.add(r);
    }
}
