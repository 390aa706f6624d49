package dev.attestmesh.authz.watch;

import com.google.protobuf.ByteString;
import com.google.protobuf.util.Durations;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.authz.MeshPolicyTable;
import dev.attestmesh.api.v1.NodeRecord;
import dev.attestmesh.api.v1.PolicyRef;
import dev.attestmesh.api.v1.RegistryEvent;
import dev.attestmesh.api.v1.WatchRegistryRequest;
import dev.attestmesh.authz.NodeAuthzRecord;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.authz.RegistryChange;
import dev.attestmesh.authz.RegistryView;
import dev.attestmesh.quote.TeeType;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link RegistryView} fed by the control plane's {@code WatchRegistry} stream, for a standalone
 * ext_authz replica.
 *
 * <p>Guarantees: decisions use only what the stream delivered (nodes, policy versions, the trust
 * bundle and the mesh policy table of the latest snapshot plus later deltas); nothing is decided
 * before the first snapshot. Every event (heartbeats included) refreshes the view's age; when no
 * event arrived for longer than {@link Settings#maxStaleness()} {@link #unavailableReason()} reports
 * the view stale and the decider denies every check, until a new snapshot arrives. A broken or silent stream
 * (no event for three heartbeat intervals) is resubscribed with exponential backoff and jitter;
 * each resubscription starts with a full snapshot, so no change can be missed. Listeners run after
 * each applied event, in stream order. Thread-safe.
 *
 * <p>The mesh config's policy requirements arrive as a table by destination principal and port
 * ({@code mesh_requirements}, in every snapshot and again whenever the table changes), so {@link
 * #requiredPolicies} gives the answer the control plane's own ext_authz gives for the same mesh
 * config: Checks without a policy header work as in the embedded mode. A snapshot from a control
 * plane that does not send the table leaves it empty.
 */
public final class WatchedRegistryView implements RegistryView, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WatchedRegistryView.class);

    /**
     * @param replicaId free text identifying this replica in the control plane's log
     * @param maxStaleness how long the last view is used without hearing from the control plane
     * @param initialBackoff first resubscription delay; doubles per failure up to {@code maxBackoff}
     */
    public record Settings(String replicaId, Duration maxStaleness, Duration initialBackoff, Duration maxBackoff) {
        public Settings {
            Objects.requireNonNull(replicaId, "replicaId");
            if (maxStaleness.isNegative() || maxStaleness.isZero()) {
                throw new IllegalArgumentException("max staleness must be positive, was " + maxStaleness);
            }
            if (initialBackoff.isNegative() || initialBackoff.isZero() || maxBackoff.compareTo(initialBackoff) < 0) {
                throw new IllegalArgumentException("backoff must satisfy 0 < initial <= max, was "
                        + initialBackoff + " / " + maxBackoff);
            }
        }

        /** 30 s staleness, backoff from 200 ms to 5 s. */
        public static Settings defaults(String replicaId) {
            return new Settings(replicaId, Duration.ofSeconds(30), Duration.ofMillis(200), Duration.ofSeconds(5));
        }

        public Settings withMaxStaleness(Duration d) {
            return new Settings(replicaId, d, initialBackoff, maxBackoff);
        }
    }

    /**
     * The view. A snapshot replaces it whole; a delta changes its two maps in place, one key at a time (each value
     * replaced whole: a node's record, a principal's immutable list of instances), and then replaces the record for
     * the new revision and mesh table. So a delta costs what it changes, not the size of the registry, and a reader
     * sees, for any one node or principal, either its state before the delta or after it, never a mixture: a
     * decision reads one node or one principal's list, and is made again once the delta's change is told.
     */
    private record State(ConcurrentHashMap<String, NodeAuthzRecord> byNode,
            ConcurrentHashMap<String, List<NodeAuthzRecord>> bySpiffe, Map<String, Long> policyVersions,
            List<X509Certificate> bundle, MeshPolicyTable meshPolicies, long revision) {}

    /** A state after an event and what the event changed (null when it changed nothing). */
    private record Applied(State state, RegistryChange change) {}

    private final Channel channel;
    private final Settings settings;
    private final ScheduledExecutorService scheduler;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private final List<java.util.function.Consumer<RegistryChange>> targetedListeners = new CopyOnWriteArrayList<>();
    private final Object lock = new Object();
    private volatile State state; // null until the first snapshot
    private volatile long lastEventNanos;
    private volatile long callStartedNanos;
    private volatile long silenceLimitNanos;
    private volatile String lastProblem = "not connected yet";
    private volatile boolean wasStale;
    // guarded by lock:
    private ClientCallStreamObserver<WatchRegistryRequest> call;
    private long callGeneration;
    private Duration backoff;
    private boolean closed;

    private WatchedRegistryView(Channel channel, Settings settings) {
        this.channel = channel;
        this.settings = settings;
        this.backoff = settings.initialBackoff();
        this.silenceLimitNanos = settings.maxStaleness().toNanos() / 2;
        this.lastEventNanos = System.nanoTime();
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "attestmesh-registry-view");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Starts watching over {@code channel} (which must authenticate as an allowed replica identity:
     * mutual TLS with a mesh certificate). The caller keeps ownership of the channel.
     */
    public static WatchedRegistryView start(Channel channel, Settings settings) {
        WatchedRegistryView v = new WatchedRegistryView(channel, settings);
        v.subscribe();
        long tick = Math.max(20, Math.min(1000, settings.maxStaleness().toMillis() / 10));
        v.scheduler.scheduleAtFixedRate(v::watchdog, tick, tick, TimeUnit.MILLISECONDS);
        return v;
    }

    /** Blocks until the first snapshot has been applied; false on timeout. */
    public boolean awaitFirstSnapshot(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (state == null) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }

    /** The revision of the last applied event, empty before the first snapshot. */
    public OptionalLong revision() {
        State s = state;
        return s == null ? OptionalLong.empty() : OptionalLong.of(s.revision());
    }

    /** How long since the last registry event (state, delta or heartbeat) arrived, or since start if none did. */
    public Duration sinceLastEvent() {
        return Duration.ofNanos(System.nanoTime() - lastEventNanos);
    }

    @Override
    public Optional<String> unavailableReason() {
        State s = state;
        if (s == null) {
            return Optional.of("registry view has no snapshot from the control plane yet (" + lastProblem + ")");
        }
        long age = System.nanoTime() - lastEventNanos;
        if (age > settings.maxStaleness().toNanos()) {
            return Optional.of("registry view is stale: last update " + Duration.ofNanos(age).toMillis() + " ms ago"
                    + " (limit " + settings.maxStaleness().toMillis() + " ms); control plane: " + lastProblem);
        }
        return Optional.empty();
    }

    @Override
    public Optional<NodeAuthzRecord> byNodeId(String id) {
        State s = state;
        return s == null ? Optional.empty() : Optional.ofNullable(s.byNode().get(id));
    }

    @Override
    public List<NodeAuthzRecord> instancesOf(String spiffeId) {
        State s = state;
        return s == null ? List.of() : s.bySpiffe().getOrDefault(spiffeId, List.of());
    }

    @Override
    public OptionalLong currentPolicyVersion(String policyId) {
        State s = state;
        Long v = s == null ? null : s.policyVersions().get(policyId);
        return v == null ? OptionalLong.empty() : OptionalLong.of(v);
    }

    @Override
    public List<X509Certificate> trustBundle() {
        State s = state;
        return s == null ? List.of() : s.bundle();
    }

    @Override
    public List<String> requiredPolicies(String destinationPrincipal, int destinationPort) {
        State s = state;
        return s == null ? List.of() : s.meshPolicies().required(destinationPrincipal, destinationPort);
    }

    /** Known when the latest snapshot and deltas hold a node under the principal; nothing before the first snapshot. */
    @Override
    public boolean knowsDestination(String destinationPrincipal) {
        State s = state;
        return s != null && !s.bySpiffe().getOrDefault(destinationPrincipal, List.of()).isEmpty();
    }

    @Override
    public void addChangeListener(Runnable onChange) {
        listeners.add(onChange);
    }

    /**
     * Told a delta's nodes with the principals they were and are under; a snapshot, a new mesh policy table, and the
     * view becoming stale or current again are a change of everything.
     */
    @Override
    public void addTargetedChangeListener(java.util.function.Consumer<RegistryChange> onChange) {
        targetedListeners.add(onChange);
    }

    private void fire(RegistryChange change) {
        targetedListeners.forEach(l -> l.accept(change));
        listeners.forEach(Runnable::run);
    }

    private void subscribe() {
        long gen;
        synchronized (lock) {
            if (closed) {
                return;
            }
            gen = ++callGeneration;
        }
        if (channel instanceof ManagedChannel mc) {
            mc.resetConnectBackoff(); // the channel's own backoff (up to 2 min) must not delay our resubscription
        }
        AttestationServiceGrpc.newStub(channel).watchRegistry(
                WatchRegistryRequest.newBuilder().setReplicaId(settings.replicaId()).build(),
                new ClientResponseObserver<WatchRegistryRequest, RegistryEvent>() {
                    @Override
                    public void beforeStart(ClientCallStreamObserver<WatchRegistryRequest> requestStream) {
                        synchronized (lock) {
                            call = requestStream;
                            callStartedNanos = System.nanoTime();
                        }
                    }

                    @Override
                    public void onNext(RegistryEvent event) {
                        apply(gen, event);
                    }

                    @Override
                    public void onError(Throwable t) {
                        ended(gen, Status.fromThrowable(t));
                    }

                    @Override
                    public void onCompleted() {
                        ended(gen, Status.UNAVAILABLE.withDescription("control plane ended the watch stream"));
                    }
                });
    }

    private void apply(long gen, RegistryEvent event) {
        RegistryChange what; // null: nothing changed
        synchronized (lock) {
            if (gen != callGeneration || closed) {
                return; // an abandoned stream
            }
            if (event.hasHeartbeatInterval()) {
                long hb = Durations.toNanos(event.getHeartbeatInterval());
                silenceLimitNanos = hb > 0 ? 3 * hb : settings.maxStaleness().toNanos() / 2;
            }
            State before = state;
            Applied applied;
            try {
                applied = event.getFull() ? new Applied(fullState(event), RegistryChange.EVERYTHING)
                        : applyDelta(before, event);
            } catch (ProtocolException e) {
                lastProblem = "protocol error: " + e.getMessage();
                LOG.warn("registry watch: {}; resubscribing", e.getMessage());
                cancelCurrent("protocol error");
                return;
            }
            State next = applied.state();
            what = applied.change();
            state = next;
            lastEventNanos = System.nanoTime();
            backoff = settings.initialBackoff();
            lastProblem = "connected";
            if (wasStale) {
                wasStale = false;
                what = RegistryChange.EVERYTHING;
                LOG.info("registry view is current again (revision {})", next.revision());
            }
        }
        if (what != null) {
            fire(what);
        }
    }

    private void ended(long gen, Status status) {
        synchronized (lock) {
            if (gen != callGeneration || closed) {
                return;
            }
            call = null;
            lastProblem = status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription());
            Duration delay = jittered(backoff);
            backoff = backoff.multipliedBy(2).compareTo(settings.maxBackoff()) > 0 ? settings.maxBackoff()
                    : backoff.multipliedBy(2);
            LOG.warn("registry watch ended ({}); resubscribing in {} ms", lastProblem, delay.toMillis());
            try {
                scheduler.schedule(this::subscribe, delay.toMillis(), TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                LOG.debug("registry view closed; not resubscribing");
            }
        }
    }

    /** Cancels a silent stream (it is then resubscribed) and notes when the view becomes stale. */
    private void watchdog() {
        synchronized (lock) {
            long silent = System.nanoTime() - Math.max(lastEventNanos, callStartedNanos);
            if (call != null && silent > silenceLimitNanos) {
                lastProblem = "no event for " + Duration.ofNanos(silent).toMillis() + " ms";
                cancelCurrent("silent for " + Duration.ofNanos(silent).toMillis() + " ms");
            }
        }
        if (!wasStale && state != null && unavailableReason().isPresent()) {
            wasStale = true;
            LOG.warn("{}; denying every check until the control plane is back", unavailableReason().get());
            fire(RegistryChange.EVERYTHING);
        }
    }

    private void cancelCurrent(String why) {
        ClientCallStreamObserver<WatchRegistryRequest> c = call;
        if (c != null) {
            c.cancel(why, null); // onError(CANCELLED) follows and schedules the resubscription
        }
    }

    private Duration jittered(Duration d) {
        double f = 0.8 + 0.4 * ThreadLocalRandom.current().nextDouble();
        return Duration.ofMillis(Math.max(1, (long) (d.toMillis() * f)));
    }

    private static State fullState(RegistryEvent e) throws ProtocolException {
        Map<String, NodeAuthzRecord> nodes = new HashMap<>();
        for (NodeRecord r : e.getNodesList()) {
            decode(r).ifPresent(n -> nodes.put(n.nodeId(), n));
        }
        Map<String, Long> versions = new HashMap<>();
        for (PolicyRef p : e.getPolicyVersionsList()) {
            versions.put(p.getId(), p.getVersion());
        }
        List<X509Certificate> bundle = bundle(e.getTrustBundleList());
        MeshPolicyTable mesh = meshPolicies(e, MeshPolicyTable.EMPTY); // not set: a control plane without the table
        return state(nodes, versions, bundle, mesh, e.getRevision());
    }

    /**
     * Applies a delta to {@code before} in place ({@link State}) and says what it changed: its nodes with every
     * principal they were and are under, or everything when it carries a mesh table (or names no node, or more
     * than {@link RegistryChange#MAX_NAMED}). Everything that can refuse the event is checked before anything is
     * changed, so a refused event changes nothing. A heartbeat changes nothing.
     */
    private static Applied applyDelta(State before, RegistryEvent e) throws ProtocolException {
        if (before == null) {
            throw new ProtocolException("a delta arrived before the first snapshot");
        }
        if (e.getHeartbeat() && e.getNodesCount() == 0 && e.getRemovedNodeIdsCount() == 0
                && !e.getMeshRequirementsSet() && e.getMeshRequirementsCount() == 0) {
            return new Applied(before, null);
        }
        if (e.getRevision() < before.revision()) {
            throw new ProtocolException("revision went back from " + before.revision() + " to " + e.getRevision());
        }
        MeshPolicyTable mesh = meshPolicies(e, before.meshPolicies());
        List<Map.Entry<String, Optional<NodeAuthzRecord>>> upserts = new ArrayList<>(e.getNodesCount());
        for (NodeRecord r : e.getNodesList()) {
            upserts.add(Map.entry(r.getNodeId(), decode(r)));
        }
        // From here on nothing throws
        Set<String> ids = new LinkedHashSet<>();
        Set<String> principals = new LinkedHashSet<>();
        for (String id : e.getRemovedNodeIdsList()) {
            put(before, id, null, ids, principals);
        }
        for (Map.Entry<String, Optional<NodeAuthzRecord>> u : upserts) {
            // an undecodable update must not leave the old (maybe attested) record
            put(before, u.getKey(), u.getValue().orElse(null), ids, principals);
        }
        State next = new State(before.byNode(), before.bySpiffe(), before.policyVersions(), before.bundle(), mesh,
                e.getRevision());
        return new Applied(next, e.getMeshRequirementsSet() ? RegistryChange.EVERYTHING
                : RegistryChange.nodes(ids, principals));
    }

    /**
     * Records {@code now} as node {@code id}'s record ({@code null}: removes it) in {@code s}'s maps, noting the node
     * and the principals it was and is under. A node staying under its principal is replaced in that principal's
     * list in one step, so no reader sees the principal without it.
     */
    private static void put(State s, String id, NodeAuthzRecord now, Set<String> ids, Set<String> principals) {
        NodeAuthzRecord old = now == null ? s.byNode().remove(id) : s.byNode().put(id, now);
        ids.add(id);
        if (now != null) {
            principals.add(now.spiffeId());
            s.bySpiffe().compute(now.spiffeId(), (k, list) -> withInstance(list, now));
        }
        if (old != null) {
            principals.add(old.spiffeId());
            if (now == null || !old.spiffeId().equals(now.spiffeId())) {
                s.bySpiffe().computeIfPresent(old.spiffeId(), (k, list) -> withoutInstance(list, id));
            }
        }
    }

    /** {@code list} with {@code r} in place of any record of its node, or added. */
    private static List<NodeAuthzRecord> withInstance(List<NodeAuthzRecord> list, NodeAuthzRecord r) {
        List<NodeAuthzRecord> out = new ArrayList<>(list == null ? 1 : list.size() + 1);
        if (list != null) {
            for (NodeAuthzRecord x : list) {
                if (!x.nodeId().equals(r.nodeId())) {
                    out.add(x);
                }
            }
        }
        out.add(r);
        return List.copyOf(out);
    }

    /** {@code list} without node {@code id}'s record; null (the principal removed) when none is left. */
    private static List<NodeAuthzRecord> withoutInstance(List<NodeAuthzRecord> list, String id) {
        List<NodeAuthzRecord> out = new ArrayList<>(list.size());
        for (NodeAuthzRecord x : list) {
            if (!x.nodeId().equals(id)) {
                out.add(x);
            }
        }
        return out.isEmpty() ? null : List.copyOf(out);
    }

    /** The event's table when {@code mesh_requirements_set}, else {@code unchanged}. */
    private static MeshPolicyTable meshPolicies(RegistryEvent e, MeshPolicyTable unchanged) throws ProtocolException {
        if (!e.getMeshRequirementsSet()) {
            if (e.getMeshRequirementsCount() > 0) {
                throw new ProtocolException("event carries " + e.getMeshRequirementsCount()
                        + " mesh_requirements without mesh_requirements_set");
            }
            return unchanged;
        }
        try {
            return MeshPolicyTableCodec.decode(e.getMeshRequirementsList());
        } catch (IllegalArgumentException bad) {
            // Dropping one entry would silently stop requiring its policies: refuse the whole event instead.
            throw new ProtocolException(bad.getMessage());
        }
    }

    private static State state(Map<String, NodeAuthzRecord> nodes, Map<String, Long> versions,
            List<X509Certificate> bundle, MeshPolicyTable meshPolicies, long revision) {
        Map<String, List<NodeAuthzRecord>> grouped = new HashMap<>();
        for (NodeAuthzRecord n : nodes.values()) {
            grouped.computeIfAbsent(n.spiffeId(), k -> new ArrayList<>()).add(n);
        }
        ConcurrentHashMap<String, List<NodeAuthzRecord>> bySpiffe = new ConcurrentHashMap<>(grouped.size() * 2);
        grouped.forEach((k, v) -> bySpiffe.put(k, List.copyOf(v))); // one pass: a principal may have thousands of pods
        return new State(new ConcurrentHashMap<>(nodes), bySpiffe, Map.copyOf(versions), List.copyOf(bundle),
                meshPolicies, revision);
    }

    /** The record, or empty (with a log line) when it cannot be understood: such a node is denied. */
    static Optional<NodeAuthzRecord> decode(NodeRecord r) {
        try {
            String spiffe = !r.getSpiffeId().isEmpty() ? r.getSpiffeId() : r.getClaims().getSpiffeId();
            NodeState st = NodeState.valueOf(r.getState());
            TeeType tee = TeeType.fromWireName(r.getClaims().getTee());
            Map<String, Long> policies = new HashMap<>();
            for (PolicyRef p : r.getSatisfiedPoliciesList()) {
                policies.put(p.getId(), p.getVersion());
            }
            Set<String> certs = new LinkedHashSet<>();
            for (ByteString b : r.getAcceptedCertificateSha256List()) {
                certs.add(HexFormat.of().formatHex(b.toByteArray()));
            }
            if (certs.isEmpty() && !r.getCertificateSha256().isEmpty()) {
                certs.add(HexFormat.of().formatHex(r.getCertificateSha256().toByteArray()));
            }
            Instant evidenceExpires = Instant.ofEpochSecond(r.getEvidenceExpiresAt().getSeconds(),
                    r.getEvidenceExpiresAt().getNanos());
            if (r.getNodeId().isEmpty() || spiffe.isEmpty()) {
                throw new IllegalArgumentException("node id or SPIFFE ID missing");
            }
            Instant certExpires = Instant.ofEpochSecond(r.getCertificateExpiresAt().getSeconds(),
                    r.getCertificateExpiresAt().getNanos());
            return Optional.of(new NodeAuthzRecord(r.getNodeId(), spiffe, st, r.getRevocationReason(), tee,
                    r.getMeasurement(), policies, certs, evidenceExpires, r.getRegistration(), certExpires));
        } catch (RuntimeException e) {
            LOG.warn("registry watch: ignoring node record '{}' that cannot be decoded: {}", r.getNodeId(), e.getMessage());
            return Optional.empty();
        }
    }

    private static List<X509Certificate> bundle(List<ByteString> der) throws ProtocolException {
        if (der.isEmpty()) {
            throw new ProtocolException("snapshot carries no trust bundle");
        }
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            List<X509Certificate> out = new ArrayList<>();
            for (ByteString b : der) {
                out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(b.toByteArray())));
            }
            return out;
        } catch (CertificateException e) {
            throw new ProtocolException("trust bundle certificate is not DER X.509: " + e.getMessage());
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
            cancelCurrent("replica shutting down");
            call = null;
        }
        scheduler.shutdownNow();
    }

    /** The control plane sent something this client cannot apply safely. */
    private static final class ProtocolException extends Exception {
        ProtocolException(String message) {
            super(message);
        }
    }
}
