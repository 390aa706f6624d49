package dev.attestmesh.server.registry;

import dev.attestmesh.authz.NodeAuthzRecord;
import dev.attestmesh.authz.NodeState;
import dev.attestmesh.authz.RegistryView;
import dev.attestmesh.server.mesh.MeshPolicyLookup;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.store.NodeStore;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

/**
 * The node registry: the latest attestation of every node, persisted, with an in-memory index that
 * ext_authz reads on every Check. Every change is written to the store first, then published to
 * listeners (decision cache, xDS snapshots), so a revocation is enforced on the next Check.
 */
public final class NodeRegistry implements RegistryView {
    private final NodeStore store;
    private final PolicyRegistry policies;
    private final Supplier<List<X509Certificate>> trustBundle;
    private final Clock clock;
    private final Map<String, NodeEntry> byNode = new ConcurrentHashMap<>();
    private final Map<String, String> nodeBySpiffe = new ConcurrentHashMap<>();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private final MeshPolicyLookup mesh;

    /** A registry without a mesh config: {@link #requiredPolicies} is always empty. */
    public NodeRegistry(NodeStore store, PolicyRegistry policies, Supplier<List<X509Certificate>> trustBundle,
            Clock clock) {
        this(store, policies, trustBundle, clock, MeshPolicyLookup.NONE);
    }

    /** A registry whose {@link #requiredPolicies} come from {@code mesh}; mesh changes reach the listeners. */
    public NodeRegistry(NodeStore store, PolicyRegistry policies, Supplier<List<X509Certificate>> trustBundle,
            Clock clock, MeshPolicyLookup mesh) {
        this.mesh = mesh;
        this.store = store;
        this.policies = policies;
        this.trustBundle = trustBundle;
        this.clock = clock;
        for (NodeEntry e : store.loadAll()) {
            index(e);
        }
        policies.addChangeListener(this::fireChange);
        mesh.addChangeListener(this::fireChange);
    }

    /** Records a fresh attestation (replacing the node's previous one). */
    public void put(NodeEntry e) {
        store.upsert(e, clock.instant());
        NodeEntry old = byNode.get(e.nodeId());
        if (old != null && !old.spiffeId().equals(e.spiffeId())) {
            nodeBySpiffe.remove(old.spiffeId(), old.nodeId());
        }
        index(e);
        fireChange();
    }

    /**
     * Revokes a node: ext_authz denies it from the next Check on, and it cannot attest again until
     * the revocation is lifted.
     *
     * @return false when the node is unknown
     */
    public boolean revoke(String nodeId, String reason) {
        NodeEntry e = byNode.get(nodeId);
        if (e == null) {
            return false;
        }
        put(e.withState(NodeState.REVOKED, reason));
        return true;
    }

    public Optional<NodeEntry> entry(String nodeId) {
        return Optional.ofNullable(byNode.get(nodeId));
    }

    public Collection<NodeEntry> entries() {
        return List.copyOf(byNode.values());
    }

    @Override
    public Optional<NodeAuthzRecord> byNodeId(String id) {
        return entry(id).map(NodeEntry::toAuthzRecord);
    }

    @Override
    public Optional<NodeAuthzRecord> bySpiffeId(String spiffeId) {
        String node = nodeBySpiffe.get(spiffeId);
        return node == null ? Optional.empty() : byNodeId(node);
    }

    @Override
    public OptionalLong currentPolicyVersion(String policyId) {
        return policies.version(policyId);
    }

    @Override
    public List<X509Certificate> trustBundle() {
        return trustBundle.get();
    }

    @Override
    public List<String> requiredPolicies(String destinationPrincipal, int destinationPort) {
        // The principal is the destination's SPIFFE ID; the mesh config is keyed by node.
        String node = nodeBySpiffe.get(destinationPrincipal);
        return node == null ? List.of() : mesh.requiredPolicies(node, destinationPort);
    }

    @Override
    public void addChangeListener(Runnable onChange) {
        listeners.add(onChange);
    }

    private void index(NodeEntry e) {
        byNode.put(e.nodeId(), e);
        nodeBySpiffe.put(e.spiffeId(), e.nodeId());
    }

    private void fireChange() {
        listeners.forEach(Runnable::run);
    }
}
