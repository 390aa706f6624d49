package dev.attestmesh.server.registry;

import dev.attestmesh.authz.MeshPolicyTable;
import dev.attestmesh.authz.NodeAuthzRecord;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.authz.RegistryView;
import dev.attestmesh.server.mesh.MeshPolicyLookup;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.store.Change;
import dev.attestmesh.server.store.ChangeNotifier;
import dev.attestmesh.server.store.InProcessChangeNotifier;
import dev.attestmesh.server.store.NodeStore;
import java.security.cert.X509Certificate;
import dev.attestmesh.policy.Appraisal;
import dev.attestmesh.policy.Policy;
import dev.attestmesh.policy.PolicyAppraiser;
import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The node registry: the latest attestation of every node, persisted, with an in-memory index that
 * ext_authz reads on every Check. Every change is written to the store first, then published to
 * listeners (decision cache, xDS snapshots), so a revocation is enforced on the next Check. Replicas
 * sharing a store tell each other of every node change ({@link ChangeNotifier}); each reloads the node
 * from the store and fires its own listeners.
 */
public final class NodeRegistry implements RegistryView {
    private static final Logger LOG = LoggerFactory.getLogger(NodeRegistry.class);
    private final NodeStore store;
    private final PolicyRegistry policies;
    private final Supplier<List<X509Certificate>> trustBundle;
    private final Clock clock;
    private final Map<String, NodeEntry> byNode = new ConcurrentHashMap<>();
    private final Map<String, String> nodeBySpiffe = new ConcurrentHashMap<>();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<Optional<String>>> nodeListeners = new CopyOnWriteArrayList<>();
    private final PolicyAppraiser appraiser = new PolicyAppraiser();
    private final ChangeNotifier changes;
    private final MeshPolicyLookup mesh;

    /** A registry whose changes are told only within this process, without a mesh config. */
    public NodeRegistry(NodeStore store, PolicyRegistry policies, Supplier<List<X509Certificate>> trustBundle,
            Clock clock) {
        this(store, policies, trustBundle, clock, new InProcessChangeNotifier(), MeshPolicyLookup.NONE);
    }

    /**
     * A registry that announces each node change through {@code changes} ({@code node:<id>}) and
     * reloads nodes that other replicas changed, firing its listeners for them too; its
     * {@link #requiredPolicies} come from {@code mesh}, whose changes also reach the listeners.
     */
    public NodeRegistry(NodeStore store, PolicyRegistry policies, Supplier<List<X509Certificate>> trustBundle,
            Clock clock, ChangeNotifier changes, MeshPolicyLookup mesh) {
        this.mesh = mesh;
        this.store = store;
        this.policies = policies;
        this.trustBundle = trustBundle;
        this.clock = clock;
        this.changes = changes;
        for (NodeEntry e : store.loadAll()) {
            index(e);
        }
        policies.addChangeListener(this::reappraiseAll);
        changes.subscribe(this::onStoreChange);
        mesh.addChangeListener(() -> fireChange(Optional.empty()));
    }

    /**
     * Re-appraises every attested node's stored evidence under the current policies (after a policy
     * change): satisfied policies move to their new versions, policies no longer satisfied are lost at
     * once, and a node left with none loses its identity (state {@link NodeState#EXPIRED}: ext_authz
     * denies it and its SDS snapshot is withdrawn) until it attests again.
     */
    public synchronized void reappraiseAll() {
        Instant now = clock.instant();
        Collection<Policy> current = policies.all();
        int changed = 0;
        for (NodeEntry e : List.copyOf(byNode.values())) {
            if (e.state() != NodeState.ATTESTED) {
                continue;
            }
            Appraisal a = appraiser.appraise(e.evidence(), e.attestedAt(), current, now);
            Map<String, Long> satisfied = new LinkedHashMap<>();
            a.satisfied().forEach(r -> satisfied.put(r.id(), r.version()));
            Instant evidenceExpires = current.stream().filter(p -> satisfied.containsKey(p.id()))
                    .map(p -> e.attestedAt().plus(p.maxEvidenceAge())).min(Comparator.naturalOrder())
                    .orElse(e.evidenceExpiresAt());
            NodeEntry updated = satisfied.isEmpty()
                    ? e.withReappraisal(satisfied, evidenceExpires, NodeState.EXPIRED, "no policy satisfied after "
                            + "policy change: " + String.join("; ", current.stream().map(p -> a.firstFailure(p.id())
                                    .orElse("policy '" + p.id() + "' not satisfied")).toList()))
                    : e.withReappraisal(satisfied, evidenceExpires, NodeState.ATTESTED, e.stateReason());
            if (!updated.satisfiedPolicies().equals(e.satisfiedPolicies()) || updated.state() != e.state()
                    || !updated.evidenceExpiresAt().equals(e.evidenceExpiresAt())) {
                store.upsert(updated, now);
                index(updated);
                changed++;
                if (updated.state() != NodeState.ATTESTED) {
                    LOG.warn("node {} lost its identity: {}", e.nodeId(), updated.stateReason());
                }
            }
        }
        LOG.info("re-appraised attested nodes under the current policies: {} changed", changed);
        fireChange(Optional.empty());
    }

    /** Records a fresh attestation (replacing the node's previous one). */
    public void put(NodeEntry e) {
        // Store writes and reloads hold the registry's lock, so the index never keeps an older record
        // than the store holds.
        synchronized (this) {
            store.upsert(e, clock.instant());
            reindex(e);
        }
        fireChange(Optional.of(e.nodeId()));
        changes.publish(new Change.Node(e.nodeId()));
    }

    private void onStoreChange(Change change, ChangeNotifier.Origin origin) {
        if (origin != ChangeNotifier.Origin.OTHER_REPLICA) {
            return; // this replica applied it already
        }
        if (change instanceof Change.Node n) {
            synchronized (this) {
                store.load(n.nodeId()).ifPresent(this::reindex);
            }
            fireChange(Optional.of(n.nodeId()));
        } else if (change == Change.Topic.NODES) {
            synchronized (this) {
                store.loadAll().forEach(this::reindex);
            }
            fireChange(Optional.empty());
        }
    }

    private void reindex(NodeEntry e) {
        NodeEntry old = byNode.get(e.nodeId());
        if (old != null && !old.spiffeId().equals(e.spiffeId())) {
            nodeBySpiffe.remove(old.spiffeId(), old.nodeId());
        }
        index(e);
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

    /** The most recently indexed node of {@code spiffeId}; replaced by {@link #instancesOf}. */
    public Optional<NodeAuthzRecord> bySpiffeId(String spiffeId) {
        String node = nodeBySpiffe.get(spiffeId);
        return node == null ? Optional.empty() : byNodeId(node);
    }

    @Override
    public List<NodeAuthzRecord> instancesOf(String spiffeId) {
        return byNode.values().stream().filter(e -> e.spiffeId().equals(spiffeId)).map(NodeEntry::toAuthzRecord).toList();
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

    /**
     * Every non-empty answer of {@link #requiredPolicies}, as a table by destination principal and
     * port: what a standalone ext_authz replica needs to answer as this registry does. Changes with
     * the mesh config, with what proxies present over xDS, and with the nodes' SPIFFE IDs; the
     * listeners run after each such change.
     */
    public MeshPolicyTable meshPolicyTable() {
        Map<String, Map<Integer, List<String>>> required = mesh.requiredPoliciesByNode();
        if (required.isEmpty()) {
            return MeshPolicyTable.EMPTY;
        }
        MeshPolicyTable.Builder table = MeshPolicyTable.builder();
        required.forEach((node, ports) -> {
            NodeEntry e = byNode.get(node);
            // Only where requiredPolicies resolves the principal to this very node (several nodes may share
            // a SPIFFE ID, e.g. one namespace and service account; the index holds the last one recorded).
            if (e != null && node.equals(nodeBySpiffe.get(e.spiffeId()))) {
                ports.forEach((port, ids) -> table.require(e.spiffeId(), port, ids));
            }
        });
        return table.build();
    }

    @Override
    public void addChangeListener(Runnable onChange) {
        listeners.add(onChange);
    }

    private void index(NodeEntry e) {
        byNode.put(e.nodeId(), e);
        nodeBySpiffe.put(e.spiffeId(), e.nodeId());
    }

    /**
     * Listens for changes with the node concerned, or empty when any node may have changed (policy
     * change, reload): lets the xDS publisher rebuild one node's snapshot instead of all of them.
     */
    public void addNodeChangeListener(Consumer<Optional<String>> listener) {
        nodeListeners.add(listener);
    }

    private void fireChange(Optional<String> nodeId) {
        nodeListeners.forEach(l -> l.accept(nodeId));
        listeners.forEach(Runnable::run);
    }
}
