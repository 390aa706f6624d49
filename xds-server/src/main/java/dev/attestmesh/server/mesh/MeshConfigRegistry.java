package dev.attestmesh.server.mesh;

import dev.attestmesh.policy.Policy;
import dev.attestmesh.server.mesh.MeshConfigStore.StoredMeshConfig;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.store.Change;
import dev.attestmesh.server.store.ChangeNotifier;
import dev.attestmesh.server.store.InProcessChangeNotifier;
import dev.attestmesh.server.store.DocumentSetDiff;
import dev.attestmesh.server.store.SeedResult;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The current, versioned mesh config. Version 0 is the empty mesh (nothing configured yet); each
 * accepted document that differs from the current one gets the next version, is stored first and then
 * published to listeners (xDS snapshots, ext_authz decision cache). A rejected document changes nothing.
 * Thread-safe.
 *
 * <p>Replicas sharing a store agree on it: a replica stores the next version only while the store's
 * newest version is the one it built on (a compare-and-set; on losing, it adopts the winner and builds
 * on that, a bounded number of times), then publishes {@link Change.Topic#MESH}. A replica told so by
 * another (or resynchronising after a reconnect) adopts the store's newest version and fires its
 * listeners exactly as a local change does, so its snapshots and mesh policy table are rebuilt.
 */
public final class MeshConfigRegistry implements MeshPolicyLookup {
    private static final Logger LOG = LoggerFactory.getLogger(MeshConfigRegistry.class);

    /** Other replicas kept storing newer versions while a change was being stored; that change was not stored. */
    public static final class ConcurrentChangeException extends IllegalStateException {
        ConcurrentChangeException(String message) {
            super(message);
        }
    }

    /** A mesh config with its version and the document it came from. */
    public record VersionedMeshConfig(long version, String document, String sha256, Instant updatedAt,
            MeshConfig config) {}

    private final MeshConfigStore store;
    private final PolicyRegistry policies;
    private final EnvoyNodeDirectory nodes;
    private final AttestedNodeDirectory attested;
    /** How often {@link #replace} builds on a newer version another replica stored first, before giving up. */
    static final int MAX_WRITE_ATTEMPTS = 5;
    private final Clock clock;
    private final ChangeNotifier changes;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private volatile VersionedMeshConfig current;
    private volatile ByNodeCache byNodeCache;

    /** {@link #requiredPoliciesByNode} as computed for one config and one generation of the node directory. */
    private record ByNodeCache(VersionedMeshConfig config, long directoryGeneration, long attestedGeneration,
            Map<String, Map<Integer, List<String>>> byNode) {}

    /** Loads the newest stored config (or the empty mesh when none was ever stored); changes stay in this process. */
    public MeshConfigRegistry(MeshConfigStore store, PolicyRegistry policies, EnvoyNodeDirectory nodes,
            AttestedNodeDirectory attested, Clock clock) {
        this(store, policies, nodes, attested, clock, new InProcessChangeNotifier());
    }

    /**
     * Loads the newest stored config, announces this registry's changes through {@code changes} and adopts
     * the ones other replicas announce.
     */
    public MeshConfigRegistry(MeshConfigStore store, PolicyRegistry policies, EnvoyNodeDirectory nodes,
            AttestedNodeDirectory attested, Clock clock, ChangeNotifier changes) {
        this.changes = changes;
        this.attested = attested;
        this.store = store;
        this.policies = policies;
        this.nodes = nodes;
        this.clock = clock;
        this.current = store.latest().map(MeshConfigRegistry::load)
                .orElse(new VersionedMeshConfig(0, "services: []\n", sha256("services: []\n"), Instant.EPOCH,
                        MeshConfig.EMPTY));
        // A node's presented identity (cluster, metadata, address) only matters when services are configured;
        // without any, re-publishing every snapshot on each new proxy would make connecting O(n^2).
        nodes.addChangeListener(() -> {
            if (!current().config().services().isEmpty()) {
                fireChange();
            }
        });
        warnAboutMissingPolicies();
        policies.addChangeListener(this::warnAboutMissingPolicies);
        changes.subscribe((change, origin) -> {
            if (change == Change.Topic.MESH && origin == ChangeNotifier.Origin.OTHER_REPLICA) {
                reload();
            }
        });
    }

    /**
     * Adopts the store's newest config when it differs from the one in force (another replica stored it)
     * and fires the listeners. A stored document that does not parse is not adopted: the config in force
     * stays, and the failure is logged.
     */
    private synchronized void reload() {
        Optional<StoredMeshConfig> stored = store.latest();
        if (stored.isEmpty() || stored.get().version() == current.version()
                && stored.get().sha256().equals(current.sha256())) {
            return;
        }
        adopt(load(stored.get()));
    }

    /** Makes {@code held} (read from the store) the config in force. Called under this. */
    private void adopt(VersionedMeshConfig held) {
        current = held;
        LOG.info("mesh config version {} stored by another replica now in force: {} service(s)", held.version(),
                held.config().services().size());
        fireChange();
    }

    private static VersionedMeshConfig load(StoredMeshConfig s) {
        try {
            return new VersionedMeshConfig(s.version(), s.document(), s.sha256(), s.createdAt(),
                    MeshConfigParser.parseStored(s.document()));
        } catch (MeshConfigException e) {
            throw new IllegalStateException("stored mesh config version " + s.version() + " no longer parses; "
                    + "replace it with a valid one (attestmesh.mesh-file): " + e.getMessage(), e);
        }
    }

    public VersionedMeshConfig current() {
        return current;
    }

    /**
     * Validates {@code document} against the current policies and, when it differs from the current
     * config, stores it as the next version and notifies listeners.
     *
     * @return the config now in force (the current one, unchanged, when the document is identical)
     * @throws MeshConfigException listing every problem; nothing changes
     * @throws ConcurrentChangeException when other replicas stored {@value #MAX_WRITE_ATTEMPTS} newer versions
     *     first (this registry then holds the newest); nothing of this document is stored
     */
    public synchronized VersionedMeshConfig replace(String document) throws MeshConfigException {
        Set<String> known = policies.all().stream().map(Policy::id).collect(Collectors.toUnmodifiableSet());
        MeshConfig config = MeshConfigParser.parse(document, known);
        String sha = sha256(document);
        for (int attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
            VersionedMeshConfig base = current;
            if (sha.equals(base.sha256())) {
                return base;
            }
            VersionedMeshConfig next = new VersionedMeshConfig(base.version() + 1, document, sha, clock.instant(),
                    config);
            Optional<StoredMeshConfig> newer = store.appendAfter(base.version(),
                    new StoredMeshConfig(next.version(), document, sha, next.updatedAt()));
            if (newer.isEmpty()) {
                current = next;
                LOG.info("mesh config version {} in force: {} service(s)", next.version(), config.services().size());
                // Other replicas first: they reload from the store while this one rebuilds its snapshots.
                changes.publish(Change.Topic.MESH);
                fireChange();
                return next;
            }
            // Another replica stored a newer version since this one loaded: take it in, then build on it.
            adopt(load(newer.get()));
        }
        throw new ConcurrentChangeException("the mesh config was changed by other replicas " + MAX_WRITE_ATTEMPTS
                + " times while this change was being stored; this change was not stored, apply it again");
    }

    /**
     * A dry run of {@link #replace}: the document validated exactly as {@code replace} validates it, how its
     * services differ from the config in force, and which nodes' mesh membership or inbound policy
     * requirements would change.
     *
     * @param unchanged whether the document is the one in force (byte for byte)
     * @param nodeChanges node id to a description of how its services or required policies would change
     */
    public record Preview(VersionedMeshConfig current, boolean unchanged, DocumentSetDiff services,
            Map<String, String> nodeChanges) {}

    /**
     * Validates {@code document} against the current policies and computes its effect; stores nothing.
     *
     * @throws MeshConfigException listing every problem, as {@link #replace} would
     */
    public Preview preview(String document) throws MeshConfigException {
        Set<String> known = policies.all().stream().map(Policy::id).collect(Collectors.toUnmodifiableSet());
        MeshConfig proposed = MeshConfigParser.parse(document, known);
        VersionedMeshConfig base = current;
        boolean unchanged = sha256(document).equals(base.sha256());
        Map<String, EnvoyNodeIdentity> presented = nodes.identities();
        Map<String, AttestedNodeIdentity> proven = attested.identities();
        Map<String, Map<Integer, List<String>>> before = base.config().requiredPoliciesByNode(presented, proven);
        Map<String, Map<Integer, List<String>>> after = proposed.requiredPoliciesByNode(presented, proven);
        java.util.TreeSet<String> candidates = new java.util.TreeSet<>(presented.keySet());
        candidates.addAll(proven.keySet());
        candidates.addAll(before.keySet());
        candidates.addAll(after.keySet());
        Map<String, String> changes = new LinkedHashMap<>();
        for (String node : candidates) {
            AttestedNodeIdentity a = proven.getOrDefault(node, AttestedNodeIdentity.UNKNOWN);
            EnvoyNodeIdentity e = presented.getOrDefault(node, EnvoyNodeIdentity.UNKNOWN);
            List<String> was = base.config().servicesOf(node, a, e).stream().map(MeshService::name).sorted().toList();
            List<String> will = proposed.servicesOf(node, a, e).stream().map(MeshService::name).sorted().toList();
            List<String> parts = new java.util.ArrayList<>();
            if (!was.equals(will)) {
                parts.add("services " + was + " -> " + will);
            }
            Map<Integer, List<String>> rb = new java.util.TreeMap<>(before.getOrDefault(node, Map.of()));
            Map<Integer, List<String>> ra = new java.util.TreeMap<>(after.getOrDefault(node, Map.of()));
            if (!rb.equals(ra)) {
                parts.add("required policies by inbound port " + rb + " -> " + ra);
            }
            if (!parts.isEmpty()) {
                changes.put(node, String.join("; ", parts));
            }
        }
        return new Preview(base, unchanged, servicesDiff(base, proposed, unchanged ? base.version() : base.version() + 1),
                changes);
    }

    /**
     * Stores {@code document} as version 1 only when no mesh config was ever stored (decided by the
     * store: replicas starting together on an empty database seed it once). When one was, nothing is
     * written, this registry shows the stored one, and the result tells how the document's services
     * differ from it.
     *
     * @throws MeshConfigException listing every problem of the document; its policy IDs are checked against
     *     the current policies only when it would be written. Nothing is written
     */
    public synchronized SeedResult seed(String document) throws MeshConfigException {
        MeshConfig config = MeshConfigParser.parseIgnoringPolicies(document);
        String sha = sha256(document);
        Instant now = clock.instant();
        Optional<StoredMeshConfig> stored = store.latest();
        if (stored.isEmpty()) {
            Set<String> known = policies.all().stream().map(Policy::id).collect(Collectors.toUnmodifiableSet());
            config = MeshConfigParser.parse(document, known);
            stored = store.appendIfEmpty(new StoredMeshConfig(1, document, sha, now));
        }
        if (stored.isEmpty()) {
            VersionedMeshConfig before = current;
            current = new VersionedMeshConfig(1, document, sha, now, config);
            LOG.info("mesh config version 1 in force: {} service(s)", config.services().size());
            fireChange();
            changes.publish(Change.Topic.MESH);
            return new SeedResult(true, 0, servicesDiff(before, config, 1));
        }
        VersionedMeshConfig held = load(stored.get());
        if (held.version() != current.version() || !held.sha256().equals(current.sha256())) {
            current = held; // another replica stored its first config since this registry loaded
            fireChange();
        }
        long would = sha.equals(held.sha256()) ? held.version() : held.version() + 1;
        return new SeedResult(false, held.config().services().size(), servicesDiff(held, config, would));
    }

    /**
     * How {@code next}'s services differ from {@code before}'s, by service name; versions are the mesh
     * config's (a changed service moves from {@code before}'s version to {@code nextVersion}).
     */
    public static DocumentSetDiff servicesDiff(VersionedMeshConfig before, MeshConfig next, long nextVersion) {
        Map<String, MeshService> old = new LinkedHashMap<>();
        before.config().services().forEach(s -> old.put(s.name(), s));
        Map<String, Long> from = new LinkedHashMap<>();
        old.keySet().forEach(name -> from.put(name, before.version()));
        Map<String, Long> to = new LinkedHashMap<>();
        for (MeshService s : next.services()) {
            to.put(s.name(), s.equals(old.get(s.name())) ? before.version() : nextVersion);
        }
        return DocumentSetDiff.ofVersions(from, to);
    }

    /** A counter that goes up after any node presents another identity over xDS (read it before the identities). */
    public long presentedGeneration() {
        return nodes.generation();
    }

    /** The identity the node last presented over xDS (for narrowing membership by cluster or metadata). */
    public EnvoyNodeIdentity identityOf(String nodeId) {
        return nodes.identity(nodeId);
    }

    /** The services {@code nodeId} belongs to under the current config. */
    public List<MeshService> servicesOf(String nodeId) {
        return current.config().servicesOf(nodeId, attested.identity(nodeId), nodes.identity(nodeId));
    }

    /** Whether {@code nodeId}, proven {@code proven}, is a member of {@code service}. */
    public boolean isMember(MeshService service, String nodeId, AttestedNodeIdentity proven) {
        return service.members().matches(nodeId, proven, nodes.identity(nodeId));
    }

    @Override
    public List<String> requiredPolicies(String nodeId, int port) {
        return current.config().requiredPolicies(nodeId, attested.identity(nodeId), nodes.identity(nodeId), port);
    }

    /** Computed again only after the config or a node's presented identity changed. */
    @Override
    public Map<String, Map<Integer, List<String>>> requiredPoliciesByNode() {
        VersionedMeshConfig config = current;
        if (config.config().services().isEmpty()) {
            return Map.of();
        }
        long generation = nodes.generation(); // read before the identities: see EnvoyNodeDirectory#generation
        long attestedGeneration = attested.generation();
        ByNodeCache cached = byNodeCache;
        if (cached != null && cached.config() == config && cached.directoryGeneration() == generation
                && cached.attestedGeneration() == attestedGeneration) {
            return cached.byNode();
        }
        Map<String, Map<Integer, List<String>>> byNode = config.config().requiredPoliciesByNode(nodes.identities(),
                attested.identities());
        byNodeCache = new ByNodeCache(config, generation, attestedGeneration, byNode);
        return byNode;
    }

    @Override
    public void addChangeListener(Runnable onChange) {
        listeners.add(onChange);
    }

    private void fireChange() {
        listeners.forEach(Runnable::run);
    }

    private void warnAboutMissingPolicies() {
        Set<String> known = policies.all().stream().map(Policy::id).collect(Collectors.toSet());
        for (MeshService s : current.config().services()) {
            s.ingress().forEach(i -> i.policies().stream().filter(p -> !known.contains(p)).forEach(p ->
                    LOG.warn("mesh config: service '{}' ingress port {} requires policy '{}', which no longer exists; "
                            + "every caller is denied until the policy returns or the mesh config changes",
                            s.name(), i.port(), p)));
            s.egress().forEach(e -> e.policies().stream().filter(p -> !known.contains(p)).forEach(p ->
                    LOG.warn("mesh config: service '{}' egress port {} requires policy '{}', which no longer exists; "
                            + "no upstream qualifies until the policy returns or the mesh config changes",
                            s.name(), e.port(), p)));
        }
    }

    static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
