package dev.attestmesh.server.xds;

import dev.attestmesh.registry.NodeState;
import dev.attestmesh.policy.Policy;
import dev.attestmesh.sds.SdsSecretFactory;
import dev.attestmesh.server.ca.MeshCaHolder;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.registry.NodeEntry;
import dev.attestmesh.server.registry.NodeRegistry;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import dev.attestmesh.server.xds.MeshResourceGenerator.NodeResources;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.ToIntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds each node's xDS snapshot and publishes it to the java-control-plane cache. A node's snapshot
 * carries the SDS secrets of DESIGN.md section 6: {@code default} (its certificate chain inline, the
 * private key by file name on the node), {@code ROOTCA} (the mesh trust bundle) and {@code
 * policy:<id>} for every configured policy. Every name is always present, so an ADS client never waits
 * on a missing resource. A node that is not attested gets no snapshot at all.
 *
 * <p>With a {@link MeshResourceGenerator} the snapshot also carries the node's listeners, routes,
 * clusters and endpoints from the mesh config. Every type's version is a hash of its content
 * ({@link ResourceVersions}), so a change re-sends only the types whose content changed, only to the
 * nodes whose resources changed; a node whose resources are all unchanged is not touched at all.
 *
 * <p>Which nodes get a snapshot: by default every attested node, from its attestation on. Replicas that share
 * a store ({@link #onlyForStreamsHere}) build and keep a snapshot only for the nodes with an xDS stream on
 * this replica: it is built when the node's first stream here passes its checks, before that stream's first
 * request is answered, kept current while a stream is open, and dropped when the node's last stream here
 * ends. A change then costs each replica the snapshots of its own proxies, not of the whole fleet.
 */
public final class SnapshotPublisher implements XdsStreamGuard.Streams {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotPublisher.class);

    private final SimpleCache<String> cache;
    private final NodeRegistry registry;
    private final PolicyRegistry policies;
    private final MeshCaHolder ca;
    private final String nodeKeyFile;
    private final Function<NodeEntry, NodeResources> meshResources;
    private final Function<NodeEntry, List<Secret>> releasedSecrets;
    private volatile SharedSecrets shared;
    /** Open xDS streams here by node id, when only nodes streaming here get snapshots; null: every node. */
    private volatile ToIntFunction<String> streamsHere;
    /** Orders a node's snapshot being built or dropped against its streams being bound and ending. */
    private final Object streamLock = new Object();
    /** Snapshots built (an attested node's resources generated), whether or not one was new. */
    private final java.util.concurrent.atomic.LongAdder built = new java.util.concurrent.atomic.LongAdder();

    /**
     * A publisher of SDS secrets only (no mesh config).
     *
     * @param nodeKeyFile where the node agent writes the private key on each node, as Envoy reads it
     */
    public SnapshotPublisher(SimpleCache<String> cache, NodeRegistry registry, PolicyRegistry policies,
            MeshCaHolder ca, String nodeKeyFile) {
        this(cache, registry, policies, ca, nodeKeyFile, e -> NodeResources.NONE, e -> List.of());
    }

    /** A publisher of SDS secrets and the mesh config's resources from {@code generator}. */
    public SnapshotPublisher(SimpleCache<String> cache, NodeRegistry registry, PolicyRegistry policies,
            MeshCaHolder ca, String nodeKeyFile, MeshResourceGenerator generator) {
        this(cache, registry, policies, ca, nodeKeyFile, generator::generate, e -> List.of());
    }

    /**
     * A publisher of SDS secrets, the mesh config's resources, and the operator secrets released to each node
     * ({@code secret:<name>} generic secrets from {@code releasedSecrets}, asked for each attested node at every
     * publish, so a revocation, re-appraisal or secret change takes them out of the next push).
     */
    public SnapshotPublisher(SimpleCache<String> cache, NodeRegistry registry, PolicyRegistry policies,
            MeshCaHolder ca, String nodeKeyFile, MeshResourceGenerator generator,
            Function<NodeEntry, List<Secret>> releasedSecrets) {
        this(cache, registry, policies, ca, nodeKeyFile, generator::generate, releasedSecrets);
    }

    private SnapshotPublisher(SimpleCache<String> cache, NodeRegistry registry, PolicyRegistry policies,
            MeshCaHolder ca, String nodeKeyFile, Function<NodeEntry, NodeResources> meshResources,
            Function<NodeEntry, List<Secret>> releasedSecrets) {
        this.meshResources = meshResources;
        this.releasedSecrets = releasedSecrets;
        this.cache = cache;
        this.registry = registry;
        this.policies = policies;
        this.ca = ca;
        this.nodeKeyFile = nodeKeyFile;
    }

    /**
     * From now on builds and keeps snapshots only for the nodes with an xDS stream on this control plane (for
     * replicas sharing a store; see the class comment). Drops the snapshots of nodes without a stream here.
     *
     * @param openStreams the number of open, bound xDS streams of a node here ({@link XdsStreamGuard#openStreams})
     */
    public synchronized void onlyForStreamsHere(ToIntFunction<String> openStreams) {
        this.streamsHere = openStreams;
        for (NodeEntry e : registry.entries()) {
            synchronized (streamLock) {
                if (openStreams.applyAsInt(e.nodeId()) == 0) {
                    cache.clearSnapshot(e.nodeId());
                }
            }
        }
    }

    /**
     * Re-publishes every node's snapshot (after a registry, policy, mesh or CA change). Serialised, so a
     * snapshot built from older state never replaces one built from newer state.
     */
    public synchronized void publishAll() {
        for (NodeEntry e : registry.entries()) {
            if (streamsHere == null) {
                publish(e);
            } else {
                synchronized (streamLock) {
                    if (keptHere(e.nodeId())) {
                        publish(e);
                    }
                }
            }
        }
    }

    /**
     * Re-publishes the snapshots of {@code nodeIds} (a node's change and the nodes whose resources name it,
     * {@link MeshResourceGenerator#affectedBy}). Serialised with {@link #publishAll}, so of two changes that touch the
     * same node, the snapshot built last is built from the newer state.
     */
    public synchronized void publishNodes(java.util.Collection<String> nodeIds) {
        for (String id : nodeIds) {
            publishNode(id);
        }
    }

    /** How many snapshots were built so far (each attested node's resources generated once per publish). */
    public long snapshotsBuilt() {
        return built.sum();
    }

    /** Re-publishes one node's snapshot (after that node's attestation, renewal or revocation). */
    public void publishNode(String nodeId) {
        if (streamsHere == null) {
            publishNow(nodeId);
            return;
        }
        synchronized (streamLock) {
            if (keptHere(nodeId)) {
                publishNow(nodeId);
            }
        }
    }

    /** Builds the node's snapshot if it has none yet (a stream of it was bound here). */
    @Override
    public void bound(String nodeId) {
        synchronized (streamLock) {
            if (cache.getSnapshot(nodeId) == null) {
                publishNow(nodeId);
            }
        }
    }

    /**
     * The node's last stream here ended: when the guard closed it (revoked, withdrawn), the node's snapshot goes
     * now that no watch holds it; when only nodes streaming here get snapshots, it goes in any case.
     */
    @Override
    public void allEnded(String nodeId, boolean closedByGuard) {
        ToIntFunction<String> streams = streamsHere;
        if (streams == null) {
            if (closedByGuard) {
                publishNow(nodeId);
            }
            return;
        }
        synchronized (streamLock) {
            if (streams.applyAsInt(nodeId) == 0) { // not if another stream of the node was bound meanwhile
                cache.clearSnapshot(nodeId);
            }
        }
    }

    /** Whether the node's snapshot is kept here (only nodes streaming here get one): it has one or a stream. */
    private boolean keptHere(String nodeId) {
        return cache.getSnapshot(nodeId) != null || streamsHere.applyAsInt(nodeId) > 0;
    }

    private void publishNow(String nodeId) {
        registry.entry(nodeId).ifPresentOrElse(this::publish, () -> cache.clearSnapshot(nodeId));
    }

    private void publish(NodeEntry e) {
        if (e.state() != NodeState.ATTESTED) {
            cache.clearSnapshot(e.nodeId());
            return;
        }
        Secret tlsCertificate;
        try {
            // The chain is the PEM the CA wrote at issuance (NodeStore re-reads it from the database as is).
            tlsCertificate = SdsSecretFactory.tlsCertificatePem(e.certChainPem(), nodeKeyFile);
        } catch (IllegalArgumentException ex) {
            LOG.error("stored certificate chain of node {} is unusable ({}); withholding its snapshot", e.nodeId(),
                    ex.getMessage());
            cache.clearSnapshot(e.nodeId());
            return;
        }
        NodeResources r = meshResources.apply(e);
        built.increment();
        SharedSecrets shared = sharedSecrets(r.validationPolicies());
        List<Secret> own = new ArrayList<>();
        own.add(tlsCertificate);
        own.addAll(releasedSecrets.apply(e)); // only what this node may receive now
        List<Secret> secrets = new ArrayList<>(shared.secrets().size() + own.size());
        secrets.addAll(own);
        secrets.addAll(shared.secrets());
        // The shared secrets' encoding is hashed once per change, not once per node.
        String secretsVersion = ResourceVersions.combine(ResourceVersions.of(own), shared.version());
        Snapshot next = Snapshot.create(r.clusters(), ResourceVersions.of(r.clusters()),
                r.endpoints(), ResourceVersions.of(r.endpoints()),
                r.listeners(), ResourceVersions.of(r.listeners()),
                r.routes(), ResourceVersions.of(r.routes()),
                secrets, secretsVersion);
        Snapshot current = cache.getSnapshot(e.nodeId());
        if (current != null && sameVersions(current, next)) {
            return; // nothing this node can see changed: no new snapshot, nothing re-sent
        }
        cache.setSnapshot(e.nodeId(), next);
    }

    /**
     * The secrets every attested node gets alike: {@code ROOTCA} and {@code policy:<id>} for every
     * configured policy and every policy the node's mesh resources name (a removed policy keeps its
     * name answerable, since an ADS client waits forever for a missing name; no endpoint satisfies a
     * missing policy, so this fails closed). Rebuilt only when the trust bundle, the policy set or the
     * names asked for change; otherwise the last set (and its version) is reused.
     */
    private SharedSecrets sharedSecrets(java.util.Collection<String> meshPolicyNames) {
        List<X509Certificate> bundle = ca.trustBundle();
        java.util.TreeSet<String> names = new java.util.TreeSet<>();
        List<String> versions = new ArrayList<>();
        for (Policy p : policies.all()) {
            names.add(p.id());
            versions.add(p.id() + "@" + p.version());
        }
        names.addAll(meshPolicyNames);
        SharedSecrets last = this.shared;
        if (last != null && last.bundle().equals(bundle) && last.names().equals(names)
                && last.policyVersions().equals(versions)) {
            return last;
        }
        List<Secret> secrets = new ArrayList<>(names.size() + 1);
        secrets.add(SdsSecretFactory.rootCa(bundle));
        for (String id : names) {
            secrets.add(SdsSecretFactory.policyValidation(id, bundle));
        }
        secrets.sort(java.util.Comparator.comparing(Secret::getName)); // stable order, stable version
        SharedSecrets next = new SharedSecrets(List.copyOf(bundle), names, versions, List.copyOf(secrets),
                ResourceVersions.of(secrets));
        this.shared = next;
        return next;
    }

    private record SharedSecrets(List<X509Certificate> bundle, java.util.Set<String> names,
            List<String> policyVersions, List<Secret> secrets, String version) {}

    private static boolean sameVersions(Snapshot a, Snapshot b) {
        return a.clusters().version().equals(b.clusters().version())
                && a.endpoints().version().equals(b.endpoints().version())
                && a.listeners().version().equals(b.listeners().version())
                && a.routes().version().equals(b.routes().version())
                && a.secrets().version().equals(b.secrets().version());
    }
}
