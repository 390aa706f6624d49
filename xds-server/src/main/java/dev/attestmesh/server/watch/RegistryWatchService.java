package dev.attestmesh.server.watch;

import com.google.protobuf.ByteString;
import com.google.protobuf.util.Durations;
import dev.attestmesh.api.v1.NodeRecord;
import dev.attestmesh.input.UntrustedText;
import dev.attestmesh.api.v1.PolicyRef;
import dev.attestmesh.api.v1.RegistryEvent;
import dev.attestmesh.api.v1.WatchRegistryRequest;
import dev.attestmesh.identity.ControlPlaneTrustManager;
import dev.attestmesh.identity.ReservedClientCertificates;
import dev.attestmesh.identity.ReservedIdentities;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.registry.NodeRegistry;
import dev.attestmesh.server.xds.PeerCertificateInterceptor;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Server side of {@code AttestationService.WatchRegistry}: streams the registry to standalone
 * ext_authz replicas (docs/ext-authz.md, "Registry watch").
 *
 * <p>Guarantees:
 * <ul>
 *   <li>A {@code replica_id} that is not one line of at most {@value #MAX_REPLICA_ID_CHARS} printable
 *       characters is refused with INVALID_ARGUMENT before anything else.</li>
 *   <li>Only callers presenting an operator-issued replica certificate are served: it chains to the mesh
 *       CA's current trust bundle, is valid, carries no attestation claims extension (so no node leaf
 *       qualifies, whatever its URI), and its single URI SAN is a reserved replica identity listed in
 *       {@link RegistryWatchSettings#replicaIdentities()}. Others get UNAUTHENTICATED or
 *       PERMISSION_DENIED with the reason. A served replica whose certificate expires, or stops chaining
 *       to the bundle (CA rotation past the overlap), has its stream closed with the same statuses.</li>
 *   <li>The first event is a full snapshot ({@code full = true}): every node, every policy version,
 *       the trust bundle, the mesh policy table ({@link NodeRegistry#meshPolicyTable()}, with {@code
 *       mesh_requirements_set}), the revision. After it, a change of nodes only is sent as a delta
 *       (upserted records and removed node IDs); a change of the mesh policy table is sent in a delta
 *       too, as the complete new table with {@code mesh_requirements_set}; a change of policy versions
 *       or of the trust bundle (CA rotation, detected at the latest on the next heartbeat) is sent as a
 *       new full snapshot.</li>
 *   <li>Flow control: nothing is written to a stream that is not ready. Changes made meanwhile are
 *       coalesced; when the stream becomes ready it gets one event with every node changed since the
 *       revision it last received (a full resync when there are more than half the registry), so what is
 *       kept for a slow replica is one change record per changed node, never one per change.</li>
 *   <li>A sync costs what changed, not the registry's size: the registry reports each node it changes
 *       ({@link NodeRegistry#addNodeChangeListener}) and {@link RegistryJournal} re-reads those nodes only;
 *       a change of everything, and every heartbeat, compares all nodes (docs/ext-authz.md, "Registry
 *       watch").</li>
 *   <li>An idle stream gets a {@code heartbeat} event every {@link RegistryWatchSettings#heartbeatInterval()}.</li>
 * </ul>
 * Every stream is served from one thread, so events on a stream are ordered and revisions never go
 * back.
 */
public final class RegistryWatchService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RegistryWatchService.class);
    /** Longest {@code replica_id} (free text for this log; a host name by default), in characters. */
    public static final int MAX_REPLICA_ID_CHARS = 256;
    private static final int URI_SAN = 6;
    /** Below this many changed nodes a delta is always sent, however small the registry. */
    private static final int MIN_DELTA_FOR_RESYNC = 64;

    private final RegistryWatchSettings settings;
    private final Supplier<List<X509Certificate>> trustBundle;
    private final Clock clock;
    private final Supplier<Optional<String>> sourceUnavailable;
    private final RegistryJournal journal;
    private final ScheduledExecutorService executor;
    private final Set<WatchStream> streams = new CopyOnWriteArraySet<>();
    private final AtomicBoolean syncQueued = new AtomicBoolean();
    /** Per configured replica identity (a bounded, operator-given set): when it last received an event. */
    private final Map<String, Long> lastSyncNanos = new java.util.concurrent.ConcurrentHashMap<>();

    public RegistryWatchService(NodeRegistry registry, PolicyRegistry policies,
            Supplier<List<X509Certificate>> trustBundle, RegistryWatchSettings settings, Clock clock) {
        this(registry, policies, trustBundle, settings, clock, Optional::empty);
    }

    /**
     * @param sourceUnavailable why this control plane's own view may be stale (a PostgreSQL replica deaf to the
     *     shared store longer than {@code attestmesh.database.max-staleness}); while it says so, no watch is
     *     served and open streams are closed with {@code UNAVAILABLE} at the latest on the next heartbeat, so the
     *     standalone replicas stop receiving heartbeats and apply their own staleness bound instead of trusting
     *     a view that may miss revocations
     */
    public RegistryWatchService(NodeRegistry registry, PolicyRegistry policies,
            Supplier<List<X509Certificate>> trustBundle, RegistryWatchSettings settings, Clock clock,
            Supplier<Optional<String>> sourceUnavailable) {
        this.sourceUnavailable = sourceUnavailable;
        this.settings = settings;
        this.trustBundle = trustBundle;
        String trustDomain = ControlPlaneTrustManager.trustDomainOf(trustBundle.get());
        List<String> foreign = settings.replicaIdentities().stream()
                .filter(id -> ReservedIdentities.replicaName(trustDomain, id).isEmpty()).sorted().toList();
        if (!foreign.isEmpty()) {
            throw new IllegalArgumentException("attestmesh.authz.replica-identities lists " + foreign + ", not in this"
                    + " mesh's trust domain '" + trustDomain + "'; use spiffe://" + trustDomain
                    + "/attestmesh/replica/<name>");
        }
        this.clock = clock;
        long started = System.nanoTime(); // a replica that never connected is as stale as the control plane is old
        settings.replicaIdentities().forEach(id -> lastSyncNanos.put(id, started));
        this.journal = new RegistryJournal(RegistryJournal.Source.of(registry), policies::all, trustBundle);
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "attestmesh-registry-watch");
            t.setDaemon(true);
            return t;
        });
        registry.addNodeChangeListener(journal::nodeChanged); // runs before the listener below queues the sync
        registry.addChangeListener(this::changed); // also fires on policy changes (the registry listens to them)
        policies.addChangeListener(this::changed);
        long hb = settings.heartbeatInterval().toMillis();
        executor.scheduleAtFixedRate(() -> syncAll(true), hb, hb, TimeUnit.MILLISECONDS);
    }

    /**
     * For every configured replica identity, how long ago it last received an event (a full state, a delta or a
     * heartbeat), or since this control plane started when it never did. A replica connected and healthy stays below
     * the heartbeat interval; one that stopped watching grows without bound. Keys are the configured identities only.
     */
    public Map<String, java.time.Duration> replicaSyncAges() {
        long now = System.nanoTime();
        Map<String, java.time.Duration> out = new java.util.TreeMap<>();
        lastSyncNanos.forEach((id, at) -> out.put(id, java.time.Duration.ofNanos(now - at)));
        return out;
    }

    /** Whether a replica with this configured identity holds an open watch now. */
    public boolean watching(String replicaIdentity) {
        return streams.stream().anyMatch(s -> s.spiffeId.equals(replicaIdentity) && !s.closed);
    }

    /** Number of replicas currently watching. */
    public int activeStreams() {
        return streams.size();
    }

    /** Serves one {@code WatchRegistry} call; must run in the call's gRPC context (for the peer chain). */
    public void watch(WatchRegistryRequest request, StreamObserver<RegistryEvent> responseObserver) {
        ServerCallStreamObserver<RegistryEvent> call = (ServerCallStreamObserver<RegistryEvent>) responseObserver;
        Optional<String> badReplicaId = UntrustedText.lineProblem("replica_id", request.getReplicaId(),
                MAX_REPLICA_ID_CHARS);
        if (badReplicaId.isPresent()) {
            LOG.info("WatchRegistry refused: {}", badReplicaId.get());
            call.onError(Status.INVALID_ARGUMENT.withDescription(badReplicaId.get()).asRuntimeException());
            return;
        }
        Optional<X509Certificate[]> chain = PeerCertificateInterceptor.currentPeerChain();
        if (chain.isEmpty() || chain.get().length == 0) {
            call.onError(Status.UNAUTHENTICATED.withDescription("WatchRegistry needs mutual TLS: connect with an "
                    + "authz replica's mesh certificate and key").asRuntimeException());
            return;
        }
        X509Certificate leaf = chain.get()[0];
        Optional<String> spiffeId = singleUriSan(leaf);
        Optional<Status> refused = spiffeId.isEmpty()
                ? Optional.of(Status.PERMISSION_DENIED.withDescription("client certificate must carry exactly one "
                        + "URI SAN (a SPIFFE ID) to watch the registry"))
                : admission(leaf);
        if (refused.isPresent()) {
            LOG.warn("WatchRegistry refused for {} (replica '{}'): {}", spiffeId.orElse("certificate without SPIFFE ID"),
                    printable(request.getReplicaId()), refused.get().getDescription());
            call.onError(refused.get().asRuntimeException());
            return;
        }
        WatchStream s = new WatchStream(call, spiffeId.get(), leaf, printable(request.getReplicaId()));
        call.setOnCancelHandler(() -> {
            streams.remove(s);
            LOG.info("registry watch by {} (replica '{}') ended", s.spiffeId, s.replicaId);
        });
        call.setOnReadyHandler(() -> executor.execute(() -> s.sync(false)));
        streams.add(s);
        LOG.info("registry watch opened by {} (replica '{}')", s.spiffeId, s.replicaId);
        executor.execute(() -> {
            journal.refresh(false); // after nobody watched, a full comparison (changes were not followed meanwhile)
            s.sync(false);
        });
    }

    /**
     * Why {@code leaf} may not watch now; empty when it may. Only an operator-issued replica certificate
     * qualifies ({@link ReservedClientCertificates}): a node leaf carries the claims extension and is refused
     * even if its URI were listed, and the registry is not consulted, so no attested node can become a replica.
     */
    private Optional<Status> admission(X509Certificate leaf) {
        Optional<Status> unavailable = unavailable();
        if (unavailable.isPresent()) {
            return unavailable;
        }
        if (settings.replicaIdentities().isEmpty()) {
            return Optional.of(Status.PERMISSION_DENIED.withDescription("no authz replica identities are configured "
                    + "on this control plane, so WatchRegistry is refused; list the replicas' reserved SPIFFE IDs "
                    + "(spiffe://<td>/attestmesh/replica/<name>) in attestmesh.authz.replica-identities"));
        }
        if (!clock.instant().isBefore(leaf.getNotAfter().toInstant())) {
            return Optional.of(Status.UNAUTHENTICATED.withDescription("client certificate expired at "
                    + leaf.getNotAfter().toInstant() + "; issue a new replica certificate (attestmesh ca issue-client "
                    + "--replica NAME) and reconnect"));
        }
        return switch (ReservedClientCertificates.verify(leaf, trustBundle.get(), clock.instant())) {
            case ReservedClientCertificates.Refused r -> Optional.of(Status.PERMISSION_DENIED.withDescription(
                    "WatchRegistry needs an operator-issued replica certificate: " + r.reason()));
            case ReservedClientCertificates.Accepted a -> settings.replicaIdentities().contains(a.id().uri())
                    ? Optional.empty()
                    : Optional.of(Status.PERMISSION_DENIED.withDescription(a.id().uri() + " is not an authz replica "
                            + "identity; add it to attestmesh.authz.replica-identities to let it watch the registry"));
        };
    }

    /** Why this control plane serves no watch now (its own view may be stale); empty when it does. */
    private Optional<Status> unavailable() {
        return sourceUnavailable.get().map(why -> Status.UNAVAILABLE.withDescription(
                "this control plane serves no registry watch now: " + why));
    }

    /**
     * The mesh CA's trust bundle changed (intermediate rotation, or an overlap ended): watching replicas get
     * the new bundle now rather than at the next heartbeat.
     */
    public void trustBundleChanged() {
        changed();
    }

    private void changed() {
        if (streams.isEmpty()) {
            // Nobody watches (the usual case without standalone ext_authz replicas): no task, no thread wake-up
            // per attestation. A replica that subscribes later reads the state afresh.
            return;
        }
        if (syncQueued.compareAndSet(false, true)) {
            try {
                executor.execute(() -> {
                    syncQueued.set(false);
                    syncAll(false);
                });
            } catch (java.util.concurrent.RejectedExecutionException e) {
                syncQueued.set(false); // closed
            }
        }
    }

    private void syncAll(boolean heartbeatTick) {
        try {
            if (streams.isEmpty()) {
                journal.reset(); // nobody watches: compare everything when the next replica subscribes
                return;
            }
            journal.refresh(heartbeatTick); // the heartbeat compares every node: the net under a missed report
            long oldestSent = journal.revision();
            for (WatchStream s : streams) {
                s.sync(heartbeatTick);
                if (s.sentRevision >= 0) {
                    oldestSent = Math.min(oldestSent, s.sentRevision);
                }
            }
            journal.forgetUpTo(oldestSent);
        } catch (RuntimeException e) {
            LOG.error("registry watch sync failed; streams are resynced on the next change or heartbeat", e);
        }
    }


    /** Ends every stream with UNAVAILABLE (replicas resubscribe) and stops the service's thread. */
    @Override
    public void close() {
        Runnable endAll = () -> {
            for (WatchStream s : streams) {
                s.closed = true;
                try {
                    s.call.onError(Status.UNAVAILABLE.withDescription("control plane is shutting down; resubscribe")
                            .asRuntimeException());
                } catch (RuntimeException e) {
                    LOG.debug("registry watch stream already closed", e);
                }
            }
            streams.clear();
        };
        try {
            // on the stream thread, so no onNext can interleave with the final onError
            executor.submit(endAll).get(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException
                | java.util.concurrent.RejectedExecutionException e) {
            LOG.warn("registry watch streams did not close cleanly: {}", e.toString());
        } finally {
            executor.shutdownNow();
        }
    }

    /** One replica's stream and what it has received so far. Touched only on the executor thread. */
    private final class WatchStream {
        final ServerCallStreamObserver<RegistryEvent> call;
        final String spiffeId;
        final X509Certificate leaf;
        final String replicaId;
        /** The revision this stream last received; -1 until its first snapshot went out. */
        long sentRevision = -1;
        /** The trust bundle {@link #leaf} was last found to chain to, and until when that finding holds. */
        List<X509Certificate> admittedUnder = List.of();
        java.time.Instant admittedUntil = java.time.Instant.MIN;
        long lastSentNanos = System.nanoTime();
        boolean closed;

        WatchStream(ServerCallStreamObserver<RegistryEvent> call, String spiffeId, X509Certificate leaf, String replicaId) {
            this.call = call;
            this.spiffeId = spiffeId;
            this.leaf = leaf;
            this.replicaId = replicaId;
        }

        void sync(boolean heartbeatTick) {
            if (closed || call.isCancelled()) {
                streams.remove(this);
                return;
            }
            Optional<Status> refused = stillAdmitted();
            if (refused.isPresent()) {
                close(refused.get());
                return;
            }
            if (!call.isReady()) {
                return; // coalesce: the onReady handler brings us back with whatever is current then
            }
            if (!journal.loaded()) {
                journal.refresh(false);
            }
            RegistryEvent event;
            if (sentRevision < 0 || journal.needsFullSince(sentRevision)) {
                event = full();
            } else if (sentRevision != journal.revision()) {
                event = delta();
            } else if (heartbeatTick) {
                event = base().setHeartbeat(true).build();
            } else {
                return;
            }
            try {
                call.onNext(event);
            } catch (RuntimeException e) {
                close(Status.UNAVAILABLE.withDescription("stream write failed"));
                return;
            }
            sentRevision = journal.revision();
            lastSentNanos = System.nanoTime();
            lastSyncNanos.computeIfPresent(spiffeId, (id, before) -> lastSentNanos);
        }

        /**
         * {@link #admission} on every sync, without verifying the chain's signatures again while the trust bundle is
         * the one they were verified under and no certificate of the leaf's or the bundle's has expired since: the
         * outcome depends on nothing else (the replica list is fixed at start), and two signature checks per sync
         * were most of a sync's cost on a small registry.
         */
        private Optional<Status> stillAdmitted() {
            List<X509Certificate> bundle = trustBundle.get();
            java.time.Instant now = clock.instant();
            if (now.isBefore(admittedUntil) && bundle.equals(admittedUnder)) {
                return unavailable();
            }
            Optional<Status> refused = admission(leaf);
            if (refused.isEmpty()) {
                admittedUnder = bundle;
                admittedUntil = leaf.getNotAfter().toInstant();
                for (X509Certificate c : bundle) {
                    java.time.Instant end = c.getNotAfter().toInstant();
                    admittedUntil = end.isBefore(admittedUntil) ? end : admittedUntil;
                }
            } else {
                admittedUntil = java.time.Instant.MIN;
            }
            return refused;
        }

        private RegistryEvent full() {
            RegistryEvent.Builder b = base().setFull(true).addAllNodes(journal.records());
            journal.policyVersions().forEach((id, v) -> b.addPolicyVersions(PolicyRef.newBuilder().setId(id).setVersion(v)));
            b.addAllTrustBundle(journal.trustBundle());
            b.setMeshRequirementsSet(true).addAllMeshRequirements(journal.meshRequirements());
            return b.build();
        }

        /** The nodes changed since {@link #sentRevision}, and the mesh table if it changed; a snapshot when smaller. */
        private RegistryEvent delta() {
            int limit = Math.max(MIN_DELTA_FOR_RESYNC, journal.nodeCount() / 2);
            Optional<RegistryJournal.Changes> changes = journal.changedSince(sentRevision, limit);
            if (changes.isEmpty()) {
                return full(); // a long-stalled replica: one snapshot is smaller than the difference
            }
            RegistryEvent.Builder b = base().addAllNodes(changes.get().upserted())
                    .addAllRemovedNodeIds(changes.get().removed());
            if (journal.meshChangedSince(sentRevision)) {
                b.setMeshRequirementsSet(true).addAllMeshRequirements(journal.meshRequirements());
            }
            return b.build();
        }

        private RegistryEvent.Builder base() {
            return RegistryEvent.newBuilder().setRevision(journal.revision())
                    .setSentAt(RegistryJournal.timestamp(clock.instant()))
                    .setHeartbeatInterval(Durations.fromMillis(settings.heartbeatInterval().toMillis()));
        }

        private void close(Status status) {
            closed = true;
            streams.remove(this);
            LOG.warn("closing registry watch by {} (replica '{}'): {}", spiffeId, replicaId, status.getDescription());
            try {
                call.onError(status.asRuntimeException());
            } catch (RuntimeException e) {
                LOG.debug("registry watch stream already closed", e);
            }
        }
    }

    private static Optional<String> singleUriSan(X509Certificate leaf) {
        try {
            var sans = leaf.getSubjectAlternativeNames();
            if (sans == null) {
                return Optional.empty();
            }
            List<String> uris = new ArrayList<>();
            for (List<?> san : sans) {
                if (san.get(0) instanceof Integer t && t == URI_SAN) {
                    uris.add(String.valueOf(san.get(1)));
                }
            }
            return uris.size() == 1 ? Optional.of(uris.getFirst()) : Optional.empty();
        } catch (CertificateParsingException e) {
            return Optional.empty();
        }
    }

    private static String printable(String s) {
        return UntrustedText.forLog(s, MAX_REPLICA_ID_CHARS);
    }
}
