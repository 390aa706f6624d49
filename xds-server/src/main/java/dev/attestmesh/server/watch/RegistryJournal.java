package dev.attestmesh.server.watch;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import dev.attestmesh.api.v1.Claims;
import dev.attestmesh.api.v1.MeshPolicyRequirement;
import dev.attestmesh.api.v1.NodeRecord;
import dev.attestmesh.api.v1.PolicyRef;
import dev.attestmesh.authz.MeshPolicyTable;
import dev.attestmesh.authz.NodeAuthzRecord;
import dev.attestmesh.authz.watch.MeshPolicyTableCodec;
import dev.attestmesh.ca.AttestationClaims;
import dev.attestmesh.ca.AttestationClaimsProto;
import dev.attestmesh.policy.Policy;
import dev.attestmesh.server.registry.NodeEntry;
import dev.attestmesh.server.registry.NodeRegistry;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * The registry as the watch streams send it, kept current from the registry's change reports: every node's encoded
 * record, the policy versions, the trust bundle (DER) and the mesh policy table, with the revision at which each node
 * last changed. A stream that has received revision {@code r} is brought up to date with the nodes changed after
 * {@code r} ({@link #changedSince}), found from the newest change backwards, so the cost of a sync follows what
 * changed, not the registry's size.
 *
 * <p>What changed comes from {@link #nodeChanged} (the registry's node listener: one node, or any node). A report of
 * one node re-reads that node; a report of any node (a policy or registration change, a reload, the mesh config), more
 * than {@value #MAX_PENDING} nodes reported between two refreshes, the first refresh and every {@code rescan}
 * (the watch service's heartbeat) compare every node, reusing the encoding of each entry that did not change (entries
 * are immutable), so a change the registry did not report reaches the replicas at the latest one heartbeat later.
 * A record is recorded as changed only when its encoding differs from the one held.
 *
 * <p>{@link #nodeChanged} may be called from any thread; everything else runs on the watch service's one thread.
 */
final class RegistryJournal {
    /** Nodes reported between two refreshes beyond which the next refresh compares every node instead. */
    static final int MAX_PENDING = 65_536;

    private final Source registry;
    private final Supplier<? extends Collection<Policy>> policies;
    private final Supplier<List<X509Certificate>> trustBundle;

    private final Set<String> pending = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean pendingEverything = new AtomicBoolean();

    /** Following the registry: reports are collected. Written on the watch service's thread only. */
    private volatile boolean loaded;
    // The watch service's thread only:
    private long revision;
    /** Per node: its record and the entry it was encoded from (entries are immutable, so the same entry encodes alike). */
    private final Map<String, Encoded> nodes = new HashMap<>();
    /**
     * Node id to the revision it last changed at, oldest first; a node absent from {@link #nodes} here was removed.
     * Entries at or below every stream's revision are dropped by {@link #forgetUpTo}.
     */
    private final LinkedHashMap<String, Long> changedAt = new LinkedHashMap<>();
    private Map<String, Long> policyVersions = Map.of();
    private List<ByteString> bundle = List.of();
    /** The certificates {@link #bundle} encodes: a sync compares them and encodes only a bundle that changed. */
    private List<X509Certificate> bundleCertificates = List.of();
    private long fullChangedAt;
    private MeshPolicyTable meshTable = MeshPolicyTable.EMPTY;
    private List<MeshPolicyRequirement> meshRequirements = List.of();
    private long meshChangedAt;

    private record Encoded(NodeEntry entry, NodeRecord record) {}

    /** What the journal reads of the registry ({@link NodeRegistry} in the control plane). */
    interface Source {
        Collection<NodeEntry> entries();

        Optional<NodeEntry> entry(String nodeId);

        MeshPolicyTable meshPolicyTable();

        static Source of(NodeRegistry registry) {
            return new Source() {
                @Override
                public Collection<NodeEntry> entries() {
                    return registry.entries();
                }

                @Override
                public Optional<NodeEntry> entry(String nodeId) {
                    return registry.entry(nodeId);
                }

                @Override
                public MeshPolicyTable meshPolicyTable() {
                    return registry.meshPolicyTable();
                }
            };
        }
    }

    /** The nodes changed after a revision: their current records, and the ids of those removed. */
    record Changes(List<NodeRecord> upserted, List<String> removed) {
        int size() {
            return upserted.size() + removed.size();
        }
    }

    RegistryJournal(Source registry, Supplier<? extends Collection<Policy>> policies,
            Supplier<List<X509Certificate>> trustBundle) {
        this.registry = registry;
        this.policies = policies;
        this.trustBundle = trustBundle;
    }

    /**
     * The registry's report: {@code nodeId} changed, or (empty) any node may have. Any thread. Ignored while the
     * journal does not follow the registry (its next refresh compares every node anyway).
     */
    void nodeChanged(Optional<String> nodeId) {
        if (!loaded) {
            return;
        }
        if (nodeId.isEmpty() || pendingEverything.get()) {
            pendingEverything.set(true);
            return;
        }
        pending.add(nodeId.get());
        if (pending.size() > MAX_PENDING) {
            pendingEverything.set(true); // bounded: the next refresh compares every node, and clears the set
        }
    }

    /**
     * Stops following (nobody watches): reports are no longer collected and the next refresh compares every node.
     * The encoded records are kept, so a replica that subscribes again costs the nodes changed meanwhile.
     */
    void reset() {
        loaded = false;
        changedAt.clear();
        pending.clear();
        pendingEverything.set(false);
    }

    /**
     * Brings the journal up to the registry's current state; the revision goes up when anything differs.
     *
     * @param rescan compare every node even if no report said any changed (the heartbeat's safety net)
     * @return whether the revision went up
     */
    boolean refresh(boolean rescan) {
        long next = revision + 1;
        boolean changed = false;
        // Reports are drained before the registry is read: a change reported after the drain is read again next time.
        boolean everything = pendingEverything.getAndSet(false) | rescan || !loaded;
        if (everything) {
            pending.clear();
            loaded = true; // before the comparison: a change reported while it runs is read again next time
            changed = rescanNodes(next);
        } else {
            for (Iterator<String> it = pending.iterator(); it.hasNext(); ) {
                String id = it.next();
                it.remove();
                changed |= reread(id, registry.entry(id), next);
            }
        }
        Map<String, Long> versions = new TreeMap<>();
        for (Policy p : policies.get()) {
            versions.put(p.id(), p.version());
        }
        List<X509Certificate> certificates = trustBundle.get();
        boolean bundleChanged = !certificates.equals(bundleCertificates);
        if (!versions.equals(policyVersions) || bundleChanged) {
            policyVersions = Map.copyOf(versions);
            if (bundleChanged) {
                bundle = certificates.stream().map(RegistryJournal::der).toList();
                bundleCertificates = List.copyOf(certificates);
            }
            fullChangedAt = next;
            changed = true;
        }
        MeshPolicyTable table = registry.meshPolicyTable();
        if (!table.equals(meshTable)) {
            meshRequirements = MeshPolicyTableCodec.encode(table);
            meshTable = table;
            meshChangedAt = next;
            changed = true;
        }
        if (changed) {
            revision = next;
        }
        return changed;
    }

    private boolean rescanNodes(long next) {
        boolean changed = false;
        Set<String> seen = new HashSet<>();
        for (NodeEntry e : registry.entries()) {
            seen.add(e.nodeId());
            changed |= reread(e.nodeId(), Optional.of(e), next);
        }
        for (String id : List.copyOf(nodes.keySet())) {
            if (!seen.contains(id)) {
                changed |= reread(id, Optional.empty(), next);
            }
        }
        return changed;
    }

    /** Takes {@code now} as node {@code id}'s current entry (empty: gone); records the change when its record differs. */
    private boolean reread(String id, Optional<NodeEntry> now, long next) {
        Encoded held = nodes.get(id);
        if (now.isEmpty()) {
            if (held == null) {
                return false;
            }
            nodes.remove(id);
        } else {
            NodeEntry e = now.get();
            if (held != null && held.entry() == e) {
                return false;
            }
            NodeRecord record = encode(e);
            nodes.put(id, new Encoded(e, record));
            if (held != null && held.record().equals(record)) {
                return false; // a new entry with the same content: nothing to send
            }
        }
        changedAt.remove(id); // re-inserted at the end: the map stays ordered by revision
        changedAt.put(id, next);
        return true;
    }

    /** Whether the journal follows the registry (false before the first refresh and after {@link #reset}). */
    boolean loaded() {
        return loaded;
    }

    long revision() {
        return revision;
    }

    /** Whether a stream that received {@code sent} needs a full snapshot: policy versions or the trust bundle changed. */
    boolean needsFullSince(long sent) {
        return fullChangedAt > sent;
    }

    boolean meshChangedSince(long sent) {
        return meshChangedAt > sent;
    }

    /**
     * The nodes changed after revision {@code sent}, or empty when there are more than {@code limit} of them (one
     * snapshot is then smaller than the difference). Walks the changes from the newest back to {@code sent}.
     */
    Optional<Changes> changedSince(long sent, int limit) {
        List<NodeRecord> upserted = new ArrayList<>();
        List<String> removed = new ArrayList<>();
        for (Map.Entry<String, Long> c : changedAt.sequencedEntrySet().reversed()) {
            if (c.getValue() <= sent) {
                break;
            }
            if (upserted.size() + removed.size() == limit) {
                return Optional.empty();
            }
            Encoded e = nodes.get(c.getKey());
            if (e == null) {
                removed.add(c.getKey());
            } else {
                upserted.add(e.record());
            }
        }
        return Optional.of(new Changes(upserted, removed));
    }

    /** Drops the change records every stream has received (at or below {@code revision}). */
    void forgetUpTo(long revision) {
        for (Iterator<Long> it = changedAt.sequencedValues().iterator(); it.hasNext(); ) {
            if (it.next() > revision) {
                break;
            }
            it.remove();
        }
    }

    int nodeCount() {
        return nodes.size();
    }

    /** Change records held (for tests: bounded by the changes not yet received by every stream). */
    int changeRecords() {
        return changedAt.size();
    }

    Collection<NodeRecord> records() {
        return nodes.values().stream().map(Encoded::record).toList();
    }

    Map<String, Long> policyVersions() {
        return policyVersions;
    }

    List<ByteString> trustBundle() {
        return bundle;
    }

    List<MeshPolicyRequirement> meshRequirements() {
        return meshRequirements;
    }

    static NodeRecord encode(NodeEntry e) {
        NodeAuthzRecord authz = e.toAuthzRecord();
        NodeRecord.Builder b = NodeRecord.newBuilder()
                .setNodeId(e.nodeId())
                .setSpiffeId(e.spiffeId())
                .setState(e.state().name())
                .setRevocationReason(e.stateReason())
                .setMeasurement(e.measurement())
                .setCertificateSerial(e.certSerialHex())
                .setCertificateExpiresAt(timestamp(e.certNotAfter()))
                .setEvidenceExpiresAt(timestamp(e.evidenceExpiresAt()))
                .setRegistration(authz.registration());
        if (!e.certSha256().isEmpty()) {
            b.setCertificateSha256(ByteString.copyFrom(HexFormat.of().parseHex(e.certSha256())));
        }
        new TreeMap<>(e.satisfiedPolicies()).forEach((id, v) ->
                b.addSatisfiedPolicies(PolicyRef.newBuilder().setId(id).setVersion(v)));
        for (String hex : authz.certificateSha256Hex()) {
            b.addAcceptedCertificateSha256(ByteString.copyFrom(HexFormat.of().parseHex(hex)));
        }
        if (e.claims() != null) { // entries loaded from an old store may lack decoded claims
            b.setClaims(claims(e.claims(), e.spiffeId()));
        }
        return b.build();
    }

    private static Claims claims(AttestationClaims c, String spiffeId) {
        return AttestationClaimsProto.of(c, spiffeId);
    }

    static Timestamp timestamp(Instant i) {
        return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
    }

    private static ByteString der(X509Certificate c) {
        try {
            return ByteString.copyFrom(c.getEncoded());
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException("trust bundle certificate cannot be encoded", e);
        }
    }
}
