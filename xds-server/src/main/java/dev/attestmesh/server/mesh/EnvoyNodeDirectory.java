package dev.attestmesh.server.mesh;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The {@link EnvoyNodeIdentity} each attested node last presented on an authenticated xDS stream.
 * Kept in memory only: after a control plane restart every proxy reconnects and presents it again, and
 * until then membership by cluster or metadata does not match that node. Thread-safe; listeners run
 * after a node's identity changes (not when it is presented again unchanged).
 */
public final class EnvoyNodeDirectory {
    private final Map<String, EnvoyNodeIdentity> byNode = new ConcurrentHashMap<>();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

    /** Records what {@code nodeId} presented; runs the listeners when it differs from before. */
    public void record(String nodeId, EnvoyNodeIdentity identity) {
        EnvoyNodeIdentity old = byNode.put(nodeId, identity);
        if (!identity.equals(old)) {
            listeners.forEach(Runnable::run);
        }
    }

    /** What the node presented, or {@link EnvoyNodeIdentity#UNKNOWN} when it has not connected. */
    public EnvoyNodeIdentity identity(String nodeId) {
        return byNode.getOrDefault(nodeId, EnvoyNodeIdentity.UNKNOWN);
    }

    public void addChangeListener(Runnable r) {
        listeners.add(r);
    }
}
