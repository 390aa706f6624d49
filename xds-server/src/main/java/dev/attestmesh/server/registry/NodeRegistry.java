package dev.attestmesh.server.registry;

import dev.attestmesh.admission.AdmittedNode;
import dev.attestmesh.admission.NodeRecords;
import dev.attestmesh.authz.MeshPolicyTable;
import dev.attestmesh.authz.NodeAuthzRecord;
import dev.attestmesh.authz.RegistryChange;
import dev.attestmesh.authz.RegistryView;
import dev.attestmesh.identity.IdentityResolver;
import dev.attestmesh.policy.Appraisal;
import dev.attestmesh.policy.Policy;
import dev.attestmesh.policy.PolicyAppraiser;
import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.collateral.CollateralChange;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.server.mesh.MeshPolicyLookup;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.registration.RegistrationRegistry;
import dev.attestmesh.server.store.Change;
import dev.attestmesh.server.store.ChangeNotifier;
import dev.attestmesh.server.store.NodeStore;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.Collection;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node registry: the latest attestation of every node, persisted, with in-memory indexes that
 * ext_authz reads on every Check (by node id, and every instance by SPIFFE ID). Every change is written
 * to the store first, then published to listeners (decision cache, xDS snapshots), so a revocation is
 * enforced on the next Check. Replicas sharing a store tell each other of every node change
 * ({@link ChangeNotifier}); each reloads the node from the store and fires its own listeners.
 *
 * <p>It is also the record keeper of admission ({@link NodeRecords}): the standing of a node id (for
 * key pinning), live instances of an identity, and where admitted nodes are recorded. After a policy or
 * registration change it re-appraises every attested node with the same stages admission uses
 * ({@link PolicyAppraiser}, {@link IdentityResolver#recheck}) and withdraws what no longer holds.
 */
public final class NodeRegistry implements RegistryView, NodeRecords {
    private static final Logger LOG = LoggerFactory.getLogger(NodeRegistry.class);
    private final NodeStore store;
    private final PolicyRegistry policies;
    private final RegistrationRegistry registrations;
    private final Supplier<List<X509Certificate>> trustBundle;
    private final Clock clock;
    private final Map<String, NodeEntry> byNode = new ConcurrentHashMap<>();
    /**
     * SPIFFE ID to the ids of every node recorded under it (any state). The sets are concurrent and
     * changed in place, under this: an Istio-form identity is shared by every pod of a service account,
     * and copying its set on each admission cost time proportional to the pods, under the lock.
     */
    private final Map<String, Set<String>> nodesBySpiffe = new ConcurrentHashMap<>();
    /** SPIFFE ID to its ATTESTED nodes by certificate expiry, for {@link #liveInstances}. Changed under this. */
    private final Map<String, LiveInstances> liveBySpiffe = new ConcurrentHashMap<>();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<Optional<String>>> nodeListeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<NodeTransition>> transitionListeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<RegistryChange>> viewListeners = new CopyOnWriteArrayList<>();
    private final PolicyAppraiser appraiser = new PolicyAppraiser();
    private final IdentityResolver identities = new IdentityResolver();
    private final ChangeNotifier changes;
    private final MeshPolicyLookup mesh;
    /** Goes up after a node is recorded for the first time or under another SPIFFE ID (written under this). */
    private final java.util.concurrent.atomic.AtomicLong principalGeneration = new java.util.concurrent.atomic.AtomicLong();
    /** Goes up after every record written to the index (written under this): see {@link #modifications()}. */
    private final java.util.concurrent.atomic.AtomicLong modifications = new java.util.concurrent.atomic.AtomicLong();
    /** The last {@link #meshPolicyTable()}, with what it was computed from. */
    private volatile TableCache tableCache;

    private record TableCache(Map<String, Map<Integer, List<String>>> required, long principalGeneration,
            MeshPolicyTable table) {}

    /**
     * A registry that announces each node change through {@code changes} ({@code node:<id>}) and
     * reloads nodes that other replicas changed, firing its listeners for them too; its
     * {@link #requiredPolicies} come from {@code mesh}, whose changes also reach the listeners. Policy
     * and registration changes re-appraise every attested node.
     */
    public NodeRegistry(NodeStore store, PolicyRegistry policies, RegistrationRegistry registrations,
            Supplier<List<X509Certificate>> trustBundle, Clock clock, ChangeNotifier changes, MeshPolicyLookup mesh) {
        this.mesh = mesh;
        this.store = store;
        this.policies = policies;
        this.registrations = registrations;
        this.trustBundle = trustBundle;
        this.clock = clock;
        this.changes = changes;
        for (NodeEntry e : store.loadAll()) {
            index(e);
        }
        withdrawUnregistered();
        // Re-appraisal results are derived from what is shared (stored evidence, policies, registrations), so they
        // are recomputed at start: a change whose re-appraisal was not yet written when a process stopped (its
        // own, or another replica's that this one only re-appraised in memory) is applied now.
        int atStart = reappraise(e -> true, e -> e.evidence(), "start-up re-appraisal", true);
        if (atStart > 0) {
            LOG.info("re-appraised attested nodes at start under the stored policies and registrations: {} changed",
                    atStart);
        }
        policies.addOriginChangeListener(byAnotherReplica -> reappraiseAll(!byAnotherReplica));
        registrations.addOriginChangeListener(byAnotherReplica -> reappraiseAll(!byAnotherReplica));
        changes.subscribe(this::onStoreChange);
        mesh.addChangeListener(this::fireChangeOfEverything);
    }

    /** Records attested before registrations existed hold no registration: they must attest again. */
    private void withdrawUnregistered() {
        for (NodeEntry e : List.copyOf(byNode.values())) {
            if (e.state() == NodeState.ATTESTED && e.registration().isEmpty()) {
                NodeEntry w = e.withState(NodeState.EXPIRED, "attested before registrations existed; it must attest "
                        + "again and earn an identity from a registration (docs/identity.md)");
                synchronized (this) {
                    store.upsert(w, clock.instant());
                    reindex(w);
                }
                LOG.warn("node '{}' lost its identity: it was attested before registrations existed", e.nodeId());
            }
        }
    }

    /**
     * Re-appraises every attested node's stored evidence under the current policies and re-checks its
     * identity under the current registrations (after either changes): satisfied policies move to their
     * new versions, policies no longer satisfied are lost at once, and a node whose registration no
     * longer holds loses its identity (state {@link NodeState#EXPIRED}: ext_authz denies it and its SDS
     * snapshot is withdrawn) until it attests again.
     */
    public synchronized void reappraiseAll() {
        reappraiseAll(true);
    }

    /**
     * As {@link #reappraiseAll()}; with {@code persist} false the new records are applied here but not written.
     * A replica re-appraising after another replica's policy or registration change does not write: the
     * replica that made the change writes the same records (they follow from the shared evidence, policies and
     * registrations), and two replicas rewriting every row at once only wait on each other's row locks. If that
     * replica stops before writing, every replica re-appraises again at its next start.
     */
    public synchronized void reappraiseAll(boolean persist) {
        int changed = reappraise(e -> true, e -> e.evidence(), "a policy or registration change", persist);
        LOG.info("re-appraised attested nodes under the current policies and registrations: {} changed", changed);
        fireChangeOfEverything();
    }

    /** Judges stored evidence anew: the evidence as it stands now, or why it no longer verifies. */
    @FunctionalInterface
    public interface EvidenceRejudge {
        /** @throws EvidenceVerificationException when the stored evidence no longer passes a check */
        VerifiedEvidence rejudge(VerifiedEvidence stored) throws EvidenceVerificationException;
    }

    /**
     * Re-appraises the attested nodes whose evidence {@code change} affects, after a collateral cache
     * fetched a changed item: each node's stored evidence is judged again ({@code rejudge}, the verifier's
     * {@code reappraise}), then appraised and its identity re-checked exactly as after a policy change. A
     * node whose evidence no longer verifies, or whose new TCB status no longer satisfies its
     * registration's policies, loses its identity at once. Nothing is written or published when no node
     * changed (an unchanged re-fetch causes no churn).
     *
     * @return the number of nodes whose record changed
     */
    public synchronized int reappraiseOnCollateral(CollateralChange change, EvidenceRejudge rejudge) {
        int changed = reappraise(e -> change.affects(e.evidence()), e -> rejudge.rejudge(e.evidence()),
                "new collateral (" + change.item() + ")", true);
        LOG.info("re-appraised attested nodes after new collateral ({}): {} changed", change.item(), changed);
        if (changed > 0) {
            fireChangeOfEverything();
        }
        return changed;
    }

    private interface Rejudge {
        VerifiedEvidence apply(NodeEntry e) throws EvidenceVerificationException;
    }

    /** The one re-appraisal path: policy, registration and collateral changes all go through it. */
    private int reappraise(java.util.function.Predicate<NodeEntry> affected, Rejudge rejudge, String cause,
            boolean persist) {
        Instant now = clock.instant();
        Collection<Policy> current = policies.all();
        Collection<dev.attestmesh.identity.Registration> currentRegistrations = registrations.all();
        // Every changed record is written in one transaction, then indexed: a policy change touching every node
        // costs one commit, not one per node, and a failed write changes neither the store nor the index.
        List<NodeEntry> changed = new java.util.ArrayList<>();
        Set<String> judgedAnew = new java.util.HashSet<>();
        for (NodeEntry e : List.copyOf(byNode.values())) {
            if (e.state() != NodeState.ATTESTED || !affected.test(e)) {
                continue;
            }
            VerifiedEvidence evidence;
            try {
                evidence = rejudge.apply(e);
            } catch (EvidenceVerificationException ex) {
                changed.add(e.withState(NodeState.EXPIRED, "identity withdrawn after " + cause
                        + ": the evidence no longer verifies (" + ex.check().name().toLowerCase(java.util.Locale.ROOT)
                        + "): " + ex.getMessage()));
                continue;
            }
            NodeEntry updated = reappraise(e, evidence, current, currentRegistrations, now, cause);
            if (!updated.satisfiedPolicies().equals(e.satisfiedPolicies()) || updated.state() != e.state()
                    || !updated.evidenceExpiresAt().equals(e.evidenceExpiresAt()) || !evidence.equals(e.evidence())) {
                changed.add(updated);
                if (!evidence.equals(e.evidence())) {
                    judgedAnew.add(e.nodeId());
                }
            }
        }
        if (persist) {
            store.updateAppraisals(changed, judgedAnew, now);
        }
        for (NodeEntry updated : changed) {
            reindex(updated);
            if (updated.state() != NodeState.ATTESTED) {
                LOG.warn("node {} lost its identity: {}", updated.nodeId(), updated.stateReason());
            }
        }
        return changed.size();
    }

    /**
     * What one attested node would become under {@code candidatePolicies} and {@code candidateRegistrations}:
     * the one rule that both {@link #reappraiseAll()} and {@link #preview} apply.
     */
    private NodeEntry reappraise(NodeEntry e, VerifiedEvidence evidence, Collection<Policy> candidatePolicies,
            Collection<dev.attestmesh.identity.Registration> candidateRegistrations, Instant now, String cause) {
        Appraisal a = appraiser.appraise(evidence, e.attestedAt(), candidatePolicies, now);
        Map<String, Long> satisfied = new LinkedHashMap<>();
        a.satisfied().forEach(r -> satisfied.put(r.id(), r.version()));
        Instant evidenceExpires = candidatePolicies.stream().filter(p -> satisfied.containsKey(p.id()))
                .map(p -> e.attestedAt().plus(p.maxEvidenceAge())).min(Comparator.naturalOrder())
                .orElse(e.evidenceExpiresAt());
        Optional<String> lost = identities.recheck(candidateRegistrations, e.registration(), e.spiffeId(),
                new IdentityResolver.Subject(e.nodeId(), a, e.kubernetes()));
        return lost.isPresent()
                ? e.withReappraisal(evidence, satisfied, evidenceExpires, NodeState.EXPIRED, "identity withdrawn "
                        + "after " + cause + ": " + lost.get())
                : e.withReappraisal(evidence, satisfied, evidenceExpires, NodeState.ATTESTED, e.stateReason());
    }

    /**
     * How one attested node would change under a proposed policy or registration set (a dry run).
     *
     * @param policiesLost policy ids it satisfies now and would not
     * @param policiesGained policy ids it would satisfy and does not now
     * @param losesIdentity whether its identity would be withdrawn (state {@code EXPIRED})
     * @param reason why it would lose its identity; empty when it keeps it
     */
    public record NodeEffect(String nodeId, List<String> policiesLost, List<String> policiesGained,
            boolean losesIdentity, String reason) {}

    /**
     * The effect of replacing the policies and registrations with these candidates, computed by the same
     * rule as {@link #reappraiseAll()} and stored nowhere: only the attested nodes that would change, by
     * node id.
     */
    public List<NodeEffect> preview(Collection<Policy> candidatePolicies,
            Collection<dev.attestmesh.identity.Registration> candidateRegistrations) {
        Instant now = clock.instant();
        List<NodeEffect> out = new java.util.ArrayList<>();
        for (NodeEntry e : List.copyOf(byNode.values())) {
            if (e.state() != NodeState.ATTESTED) {
                continue;
            }
            NodeEntry after = reappraise(e, e.evidence(), candidatePolicies, candidateRegistrations, now,
                    "a policy or registration change");
            List<String> lost = e.satisfiedPolicies().keySet().stream()
                    .filter(id -> !after.satisfiedPolicies().containsKey(id)).sorted().toList();
            List<String> gained = after.satisfiedPolicies().keySet().stream()
                    .filter(id -> !e.satisfiedPolicies().containsKey(id)).sorted().toList();
            boolean losesIdentity = after.state() != NodeState.ATTESTED;
            if (!lost.isEmpty() || !gained.isEmpty() || losesIdentity) {
                out.add(new NodeEffect(e.nodeId(), lost, gained, losesIdentity, losesIdentity ? after.stateReason() : ""));
            }
        }
        out.sort(Comparator.comparing(NodeEffect::nodeId));
        return out;
    }

    /**
     * One node's record before and after one change, as the registry applied it (empty: the node had none, or has
     * none). Of two changes of one node, the second's {@code before} is the first's {@code after}: listeners that act
     * on both sides of every transition see every record the node had.
     */
    public record NodeTransition(String nodeId, Optional<NodeEntry> before, Optional<NodeEntry> after) {}

    /** Records a node's new state or attestation (replacing its previous record). */
    public void put(NodeEntry e) {
        // Store writes and reloads hold the registry's lock, so the index never keeps an older record
        // than the store holds.
        NodeEntry old;
        synchronized (this) {
            old = byNode.get(e.nodeId());
            store.upsert(e, clock.instant());
            reindex(e);
        }
        fireNodeChange(e.nodeId(), RegistryChange.node(e.nodeId(), old == null ? null : old.spiffeId(), e.spiffeId()),
                new NodeTransition(e.nodeId(), Optional.ofNullable(old), Optional.of(e)));
        changes.publish(new Change.Node(e.nodeId()));
    }

    @Override
    public Optional<Standing> standing(String nodeId) {
        return entry(nodeId).map(e -> new Standing(e.nodeId(), e.state(), e.stateReason(), e.spiffeId(), e.keySha256(),
                e.toAuthzRecord().certificateSha256Hex(), e.certNotAfter()));
    }

    /**
     * Counts from an index of the identity's ATTESTED nodes ordered by certificate expiry, so the cost
     * grows with the expired certificates still recorded as ATTESTED, not with every instance (admission
     * asks on every Attest, and an Istio-form identity may have thousands of pods).
     */
    @Override
    public int liveInstances(String spiffeId, String excludingNodeId, Instant now) {
        LiveInstances live = liveBySpiffe.get(spiffeId);
        return live == null ? 0 : live.count(excludingNodeId, now);
    }

    @Override
    public void record(AdmittedNode a) {
        Instant now = a.attestedAt();
        String previous = entry(a.nodeId()).filter(e -> e.state() == NodeState.ATTESTED && e.certNotAfter().isAfter(now))
                .map(NodeEntry::certSha256).orElse("");
        put(new NodeEntry(a.nodeId(), a.spiffeId(), a.evidence().tee(), a.evidence().primaryMeasurement(),
                NodeState.ATTESTED, "attested", a.claims(), a.satisfiedPolicies(), a.certificate().chainPem(),
                a.certificate().serial().toString(16), HexFormat.of().formatHex(a.certificate().sha256()), previous,
                a.certificate().notAfter(), a.evidenceExpiresAt(), now, a.evidence(), a.registration(), a.keySha256Hex(),
                a.kubernetes()));
    }

    @Override
    public void withdraw(String nodeId, String reason) {
        entry(nodeId).filter(e -> e.state() == NodeState.ATTESTED)
                .ifPresent(e -> put(e.withState(NodeState.EXPIRED, reason)));
    }

    /**
     * Releases a node id from the key that holds it, so another key may attest under it (an operator
     * action, e.g. after the node's machine was replaced). The node loses its identity at once.
     *
     * @return the released record, or empty when the node is unknown
     * @throws IllegalStateException when the node is revoked (lift the revocation first)
     */
    public Optional<NodeEntry> release(String nodeId, String reason) {
        synchronized (this) {
            NodeEntry e = byNode.get(nodeId);
            if (e == null) {
                return Optional.empty();
            }
            if (e.state() == NodeState.REVOKED) {
                throw new IllegalStateException("node '" + nodeId + "' is revoked; lift the revocation before "
                        + "releasing it");
            }
            NodeEntry released = new NodeEntry(e.nodeId(), e.spiffeId(), e.tee(), e.measurement(), NodeState.EXPIRED,
                    reason, e.claims(), e.satisfiedPolicies(), e.certChainPem(), e.certSerialHex(), e.certSha256(),
                    "", e.certNotAfter(), e.evidenceExpiresAt(), e.attestedAt(), e.evidence(), e.registration(), "",
                    e.kubernetes());
            put(released);
            return Optional.of(released);
        }
    }

    private void onStoreChange(Change change, ChangeNotifier.Origin origin) {
        if (origin != ChangeNotifier.Origin.OTHER_REPLICA) {
            return; // this replica applied it already
        }
        if (change instanceof Change.Node n) {
            RegistryChange targeted;
            NodeTransition transition;
            synchronized (this) {
                NodeEntry old = byNode.get(n.nodeId());
                Optional<NodeEntry> loaded = store.load(n.nodeId());
                loaded.ifPresent(this::reindex);
                // A node the store no longer holds keeps its old record here (nodes are never deleted): its principal
                targeted = RegistryChange.node(n.nodeId(), old == null ? null : old.spiffeId(),
                        loaded.map(NodeEntry::spiffeId).orElse(null));
                transition = new NodeTransition(n.nodeId(), Optional.ofNullable(old),
                        loaded.or(() -> Optional.ofNullable(old)));
            }
            fireNodeChange(n.nodeId(), targeted, transition);
        } else if (change == Change.Topic.NODES) {
            reloadAll();
        }
    }

    /**
     * Reloads every node record from the store and fires the listeners: for acting on all nodes as the
     * store holds them, including changes another replica made whose notification has not arrived yet.
     */
    public void reloadAll() {
        synchronized (this) {
            store.loadAll().forEach(this::reindex);
        }
        fireChangeOfEverything();
    }

    /** @return the SPIFFE ID {@code e}'s node was indexed under before, null when it was not */
    private synchronized String reindex(NodeEntry e) {
        NodeEntry old = byNode.get(e.nodeId());
        if (old != null && !old.spiffeId().equals(e.spiffeId())) {
            Set<String> set = nodesBySpiffe.get(old.spiffeId());
            if (set != null) {
                set.remove(old.nodeId());
                if (set.isEmpty()) {
                    nodesBySpiffe.remove(old.spiffeId());
                }
            }
        }
        index(e);
        return old == null ? null : old.spiffeId();
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

    /**
     * A counter that goes up after every change to any node's record: what is computed from {@link #entries()} read
     * after the counter stayed {@code n} still holds while the counter is {@code n} (read the counter first).
     */
    public long modifications() {
        return modifications.get();
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
    public List<NodeAuthzRecord> instancesOf(String spiffeId) {
        Set<String> ids = nodesBySpiffe.get(spiffeId);
        if (ids == null) {
            return List.of();
        }
        return ids.stream().map(byNode::get).filter(java.util.Objects::nonNull).map(NodeEntry::toAuthzRecord).toList();
    }

    @Override
    public OptionalLong currentPolicyVersion(String policyId) {
        return policies.version(policyId);
    }

    @Override
    public List<X509Certificate> trustBundle() {
        return trustBundle.get();
    }

    /**
     * The union of what the mesh config requires on {@code destinationPort} of every node recorded
     * under the destination principal: several instances share one SPIFFE ID, and no instance may lower
     * what another one's services require (fail closed).
     */
    @Override
    public List<String> requiredPolicies(String destinationPrincipal, int destinationPort) {
        Set<String> ids = nodesBySpiffe.get(destinationPrincipal);
        if (ids == null) {
            return List.of();
        }
        Set<String> out = new LinkedHashSet<>();
        for (String node : ids) {
            out.addAll(mesh.requiredPolicies(node, destinationPort));
        }
        return List.copyOf(out);
    }

    /** Known when any node, in any state, is recorded under the principal: a set lookup, no copying. */
    @Override
    public boolean knowsDestination(String destinationPrincipal) {
        return nodesBySpiffe.containsKey(destinationPrincipal);
    }

    /**
     * Every non-empty answer of {@link #requiredPolicies}, as a table by destination principal and
     * port: what a standalone ext_authz replica needs to answer as this registry does. Changes with
     * the mesh config, with what proxies present over xDS, and with the nodes' SPIFFE IDs; the
     * listeners run after each such change.
     */
    public MeshPolicyTable meshPolicyTable() {
        long generation = principalGeneration.get(); // before the records: see index()
        Map<String, Map<Integer, List<String>>> required = mesh.requiredPoliciesByNode();
        if (required.isEmpty()) {
            return MeshPolicyTable.EMPTY;
        }
        // The table follows from the mesh lookup's answer (one instance while it is unchanged) and the nodes' SPIFFE
        // IDs: a node's state changing (a renewal, a revocation) changes neither, so the watch stream's syncs reuse it
        TableCache cached = tableCache;
        if (cached != null && cached.required() == required && cached.principalGeneration() == generation) {
            return cached.table();
        }
        Map<String, Map<Integer, Set<String>>> byPrincipal = new LinkedHashMap<>();
        required.forEach((node, ports) -> {
            NodeEntry e = byNode.get(node);
            if (e != null) {
                ports.forEach((port, ids) -> byPrincipal.computeIfAbsent(e.spiffeId(), k -> new java.util.TreeMap<>())
                        .computeIfAbsent(port, k -> new LinkedHashSet<>()).addAll(ids));
            }
        });
        MeshPolicyTable.Builder table = MeshPolicyTable.builder();
        byPrincipal.forEach((principal, ports) -> ports.forEach((port, ids) -> table.require(principal, port,
                List.copyOf(ids))));
        MeshPolicyTable built = table.build();
        tableCache = new TableCache(required, generation, built);
        return built;
    }

    @Override
    public void addChangeListener(Runnable onChange) {
        listeners.add(onChange);
    }

    /** Called under this (or from the constructor). */
    private void index(NodeEntry e) {
        NodeEntry previous = byNode.put(e.nodeId(), e);
        if (previous == null || !previous.spiffeId().equals(e.spiffeId())) {
            principalGeneration.incrementAndGet(); // after the write: a reader that saw this generation sees it
        }
        modifications.incrementAndGet(); // likewise
        nodesBySpiffe.computeIfAbsent(e.spiffeId(), k -> ConcurrentHashMap.newKeySet()).add(e.nodeId());
        if (previous != null && previous.state() == NodeState.ATTESTED) {
            LiveInstances live = liveBySpiffe.get(previous.spiffeId());
            if (live != null && live.remove(previous.nodeId())) {
                liveBySpiffe.remove(previous.spiffeId());
            }
        }
        if (e.state() == NodeState.ATTESTED) {
            liveBySpiffe.computeIfAbsent(e.spiffeId(), k -> new LiveInstances()).put(e.nodeId(), e.certNotAfter());
        }
    }

    /**
     * The ATTESTED nodes of one SPIFFE ID with their certificates' expiry, ordered by expiry: the nodes
     * live at {@code now} are all but those expired, which are counted from the head. Thread-safe.
     */
    private static final class LiveInstances {
        private record Key(Instant notAfter, String nodeId) {}

        /** Orders by expiry, then node id; a null node id sorts after every node of the same instant. */
        private static final Comparator<Key> ORDER = Comparator.comparing(Key::notAfter)
                .thenComparing(Key::nodeId, Comparator.nullsLast(Comparator.naturalOrder()));

        private final Map<String, Instant> notAfterByNode = new java.util.HashMap<>();
        private final java.util.TreeSet<Key> byExpiry = new java.util.TreeSet<>(ORDER);

        synchronized void put(String nodeId, Instant notAfter) {
            Instant old = notAfterByNode.put(nodeId, notAfter);
            if (old != null) {
                byExpiry.remove(new Key(old, nodeId));
            }
            byExpiry.add(new Key(notAfter, nodeId));
        }

        /** @return true when no node is left */
        synchronized boolean remove(String nodeId) {
            Instant old = notAfterByNode.remove(nodeId);
            if (old != null) {
                byExpiry.remove(new Key(old, nodeId));
            }
            return notAfterByNode.isEmpty();
        }

        /** Nodes other than {@code excluding} whose certificate is valid at {@code now} ({@code now < notAfter}). */
        synchronized int count(String excluding, Instant now) {
            int expired = byExpiry.headSet(new Key(now, null), true).size();
            int live = notAfterByNode.size() - expired;
            Instant own = notAfterByNode.get(excluding);
            return own != null && now.isBefore(own) ? live - 1 : live;
        }
    }

    /**
     * Listens for changes with the node concerned, or empty when any node may have changed (policy
     * change, reload): lets the xDS publisher rebuild one node's snapshot instead of all of them.
     */
    public void addNodeChangeListener(Consumer<Optional<String>> listener) {
        nodeListeners.add(listener);
    }

    /**
     * Tells ext_authz's listeners ({@link #addTargetedChangeListener}) that the trust bundle changed (a CA rotation,
     * or an overlap that ended): every decision and caller verdict made on the old bundle is made again. The other
     * listeners are not told; the CA's own listeners republish what carries the bundle.
     */
    public void trustBundleChanged() {
        viewListeners.forEach(l -> l.accept(RegistryChange.EVERYTHING));
    }

    /**
     * Told each change with the nodes and principals it touched: a node's own change names the node and the
     * SPIFFE IDs it was and is recorded under; anything else (policies, registrations, mesh config, a reload, the
     * trust bundle) is {@link RegistryChange#EVERYTHING}.
     */
    @Override
    public void addTargetedChangeListener(Consumer<RegistryChange> listener) {
        viewListeners.add(listener);
    }

    /** Any node, policy version or requirement may have changed. */
    private void fireChangeOfEverything() {
        fireChange(Optional.empty(), RegistryChange.EVERYTHING);
    }

    /** Node {@code nodeId}'s record changed; {@code change} names it and its SPIFFE IDs before and after. */
    private void fireNodeChange(String nodeId, RegistryChange change, NodeTransition transition) {
        nodeListeners.forEach(l -> l.accept(Optional.of(nodeId)));
        transitionListeners.forEach(l -> l.accept(transition));
        viewListeners.forEach(l -> l.accept(change));
        listeners.forEach(Runnable::run);
    }

    private void fireChange(Optional<String> nodeId, RegistryChange change) {
        nodeListeners.forEach(l -> l.accept(nodeId));
        viewListeners.forEach(l -> l.accept(change));
        listeners.forEach(Runnable::run);
    }

    /**
     * Told each change of one node with its record before and after ({@link NodeTransition}), after the node
     * listeners; a change of everything is told only to those ({@link #addNodeChangeListener}, with empty).
     */
    public void addNodeTransitionListener(Consumer<NodeTransition> listener) {
        transitionListeners.add(listener);
    }
}
