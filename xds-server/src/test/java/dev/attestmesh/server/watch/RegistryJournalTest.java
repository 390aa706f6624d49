package dev.attestmesh.server.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.api.v1.NodeRecord;
import dev.attestmesh.authz.MeshPolicyTable;
import dev.attestmesh.server.ControlPlaneFixture;
import dev.attestmesh.server.registry.NodeEntry;
import dev.attestmesh.registry.NodeState;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The watch stream's view of the registry ({@link RegistryJournal}): a sync reads and sends the nodes the registry
 * reported, not every node, and still never misses a change: a report of everything, too many reports, a change
 * reported while it compares, a change nobody reported (found by the heartbeat's comparison) and the changes made
 * while nobody watched are all read. A missed change here is a replica allowing a node the control plane revoked.
 */
class RegistryJournalTest {
    static final int NODES = 100;
    static NodeEntry template;
    static ControlPlaneFixture fixture;

    final FakeRegistry registry = new FakeRegistry();
    RegistryJournal journal;

    @BeforeAll
    static void attestOneRealNode() throws Exception {
        fixture = ControlPlaneFixture.start(ControlPlaneFixture.simPolicy("default", ControlPlaneFixture.GOOD), Map.of());
        fixture.agent("template", ControlPlaneFixture.GOOD).attestOnce();
        template = fixture.cp.registry().entry("template").orElseThrow();
    }

    @AfterAll
    static void stop() throws Exception {
        fixture.close();
    }

    @BeforeEach
    void registryOfCopies() {
        for (int i = 0; i < NODES; i++) {
            registry.nodes.put("node-" + i, copy(template, "node-" + i));
        }
        journal = new RegistryJournal(registry, List::of, List::of);
    }

    /** A record of node {@code id} otherwise like {@code e}. */
    static NodeEntry copy(NodeEntry e, String id) {
        return new NodeEntry(id, e.spiffeId(), e.tee(), e.measurement(), e.state(), e.stateReason(), e.claims(),
                e.satisfiedPolicies(), e.certChainPem(), e.certSerialHex(), e.certSha256(), e.previousCertSha256(),
                e.certNotAfter(), e.evidenceExpiresAt(), e.attestedAt(), e.evidence(), e.registration(), e.keySha256(),
                e.kubernetes());
    }

    void change(String id, String reason) {
        registry.nodes.put(id, registry.nodes.get(id).withState(NodeState.REVOKED, reason));
    }

    static Set<String> ids(Collection<NodeRecord> records) {
        return records.stream().map(NodeRecord::getNodeId).collect(Collectors.toSet());
    }

    RegistryJournal.Changes since(long revision) {
        return journal.changedSince(revision, Integer.MAX_VALUE).orElseThrow();
    }

    @Test
    void aReportedChangeIsReadAloneAndSentAlone() {
        assertTrue(journal.refresh(false), "the first refresh reads every node");
        assertEquals(1, registry.scans);
        assertEquals(NODES, journal.nodeCount());
        long start = journal.revision();

        change("node-5", "operator: compromised");
        journal.nodeChanged(Optional.of("node-5"));
        assertTrue(journal.refresh(false));
        assertEquals(1, registry.scans, "one reported node does not compare the registry");
        assertEquals(List.of("node-5"), registry.lookups);
        assertEquals(start + 1, journal.revision());
        RegistryJournal.Changes changes = since(start);
        assertEquals(Set.of("node-5"), ids(changes.upserted()));
        assertEquals("REVOKED", changes.upserted().getFirst().getState());
        assertEquals("operator: compromised", changes.upserted().getFirst().getRevocationReason());
        assertEquals(List.of(), changes.removed());

        registry.lookups.clear();
        assertFalse(journal.refresh(false), "nothing reported, nothing read");
        assertEquals(List.of(), registry.lookups);
        assertEquals(start + 1, journal.revision());
    }

    @Test
    void aChangeNoReportNamedIsFoundByTheHeartbeatsComparison() {
        journal.refresh(false);
        long start = journal.revision();
        change("node-7", "changed behind the journal's back");
        assertFalse(journal.refresh(false));
        assertEquals(Set.of(), ids(since(start).upserted()));
        assertTrue(journal.refresh(true), "the heartbeat compares every node");
        assertEquals(Set.of("node-7"), ids(since(start).upserted()), "and finds only what changed");
    }

    @Test
    void aReportOfEverythingOrOfTooManyNodesComparesEveryNode() {
        journal.refresh(false);
        long start = journal.revision();
        change("node-1", "a");
        journal.nodeChanged(Optional.empty());
        assertTrue(journal.refresh(false));
        assertEquals(2, registry.scans);
        assertEquals(Set.of("node-1"), ids(since(start).upserted()));

        change("node-2", "b");
        for (int i = 0; i <= RegistryJournal.MAX_PENDING; i++) {
            journal.nodeChanged(Optional.of("reported-" + i)); // unknown ids: the set is bounded, not the registry
        }
        assertTrue(journal.refresh(false));
        assertEquals(3, registry.scans, "past the bound the reports give way to one comparison");
        assertEquals(Set.of("node-1", "node-2"), ids(since(start).upserted()));
        registry.lookups.clear();
        journal.refresh(false);
        assertEquals(List.of(), registry.lookups, "the overflowing reports were dropped with the comparison");
    }

    @Test
    void aChangeReportedWhileEveryNodeIsComparedIsReadNextTime() {
        // The registry changes node-9 and reports it after the comparison took its list of entries
        registry.duringScan = () -> {
            change("node-9", "revoked during the comparison");
            journal.nodeChanged(Optional.of("node-9"));
        };
        journal.refresh(false);
        registry.duringScan = null;
        long afterFirst = journal.revision();
        assertTrue(journal.refresh(false), "the report made during the first comparison is read");
        assertEquals(Set.of("node-9"), ids(since(afterFirst).upserted()));
        assertEquals("REVOKED", since(afterFirst).upserted().getFirst().getState());
    }

    @Test
    void changesAfterARevisionAreThoseOnlyEachOnceAndTooManyAreASnapshot() {
        journal.refresh(false);
        long r0 = journal.revision();
        change("node-1", "first");
        journal.nodeChanged(Optional.of("node-1"));
        journal.refresh(false);
        long r1 = journal.revision();
        change("node-2", "second");
        journal.nodeChanged(Optional.of("node-2"));
        journal.refresh(false);
        change("node-1", "third");
        journal.nodeChanged(Optional.of("node-1"));
        registry.nodes.remove("node-3");
        journal.nodeChanged(Optional.of("node-3"));
        journal.refresh(false);
        long r3 = journal.revision();

        assertEquals(Set.of("node-1", "node-2"), ids(since(r0).upserted()));
        assertEquals(2, since(r0).upserted().size(), "node-1 changed twice, sent once");
        assertEquals("third", since(r0).upserted().stream().filter(n -> n.getNodeId().equals("node-1")).findFirst()
                .orElseThrow().getRevocationReason(), "with its latest record");
        assertEquals(List.of("node-3"), since(r0).removed());
        assertEquals(Set.of("node-1", "node-2"), ids(since(r1).upserted()));
        assertEquals(0, since(r3).size());
        assertTrue(journal.changedSince(r0, 2).isEmpty(), "3 changes over a limit of 2: a snapshot instead");
        assertEquals(3, journal.changedSince(r0, 3).orElseThrow().size());
        assertEquals(NODES - 1, ids(journal.records()).size());
    }

    @Test
    void forgettingDropsOnlyWhatEveryStreamReceived() {
        journal.refresh(false);
        long r0 = journal.revision();
        for (String id : List.of("node-1", "node-2", "node-3")) {
            change(id, "x");
            journal.nodeChanged(Optional.of(id));
            journal.refresh(false);
        }
        assertEquals(NODES, journal.changeRecords(), "every node's first reading, then its change, kept");
        journal.forgetUpTo(r0);
        assertEquals(3, journal.changeRecords());
        assertEquals(Set.of("node-1", "node-2", "node-3"), ids(since(r0).upserted()));
        journal.forgetUpTo(r0 + 2);
        assertEquals(Set.of("node-3"), ids(since(r0).upserted()));
        journal.forgetUpTo(journal.revision());
        assertEquals(0, journal.changeRecords());
    }

    @Test
    void changesMadeWhileNobodyWatchedAreFoundWhenSomeoneWatchesAgain() {
        journal.refresh(false);
        journal.reset(); // the last replica went away
        change("node-4", "while nobody watched");
        journal.nodeChanged(Optional.of("node-4")); // not collected
        long before = journal.revision();
        registry.lookups.clear();
        assertTrue(journal.refresh(false), "the next refresh compares every node");
        assertEquals(List.of(), registry.lookups);
        assertEquals(Set.of("node-4"), ids(since(before).upserted()), "and re-encodes only what changed");
    }

    @Test
    void aNewEntryWithTheSameContentIsNoChange() {
        journal.refresh(false);
        long start = journal.revision();
        registry.nodes.put("node-6", copy(registry.nodes.get("node-6"), "node-6"));
        journal.nodeChanged(Optional.of("node-6"));
        assertFalse(journal.refresh(false));
        assertEquals(start, journal.revision());
    }

    /** A registry in a map, counting how it is read. */
    static final class FakeRegistry implements RegistryJournal.Source {
        final Map<String, NodeEntry> nodes = new LinkedHashMap<>();
        final List<String> lookups = new ArrayList<>();
        int scans;
        Runnable duringScan;

        @Override
        public Collection<NodeEntry> entries() {
            scans++;
            List<NodeEntry> taken = List.copyOf(nodes.values());
            if (duringScan != null) {
                duringScan.run();
            }
            return taken;
        }

        @Override
        public Optional<NodeEntry> entry(String nodeId) {
            lookups.add(nodeId);
            return Optional.ofNullable(nodes.get(nodeId));
        }

        @Override
        public MeshPolicyTable meshPolicyTable() {
            return MeshPolicyTable.EMPTY;
        }
    }
}
