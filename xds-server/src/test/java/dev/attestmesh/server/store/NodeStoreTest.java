package dev.attestmesh.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.registry.NodeState;
import dev.attestmesh.ca.AttestationClaims;
import dev.attestmesh.policy.PolicyRef;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.server.registry.NodeEntry;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeStoreTest {
    static final Instant T = Instant.parse("2026-06-01T10:00:00.123456Z");

    static NodeEntry entry(String id, NodeState state, String reason) {
        AttestationClaims claims = new AttestationClaims(AttestationClaims.CURRENT_VERSION, id, TeeType.SIM,
                Map.of("measurement", "a1".repeat(48)), "UpToDate", List.of(), List.of(new PolicyRef("default", 3)),
                new byte[32], T, true, false);
        return new NodeEntry(id, "spiffe://attestmesh.local/node/" + id, TeeType.SIM, "a1".repeat(48), state, reason,
                claims, Map.of("default", 3L), "-----BEGIN CERTIFICATE-----\n...", "0a" + id.length(), "ab".repeat(32),
                "", T.plusSeconds(3600), T.plusSeconds(600), T, EVIDENCE, "nodes", "cd".repeat(32),
                Optional.of(new dev.attestmesh.identity.KubernetesIdentity("prod", "payments", "payments-7d9",
                        "3f1c2a9e-8b7d-4c1e-9f2a-0123456789ab")));
    }

    static final dev.attestmesh.quote.VerifiedEvidence EVIDENCE = new dev.attestmesh.quote.VerifiedEvidence(
            TeeType.SIM, dev.attestmesh.quote.TcbStatus.UP_TO_DATE, List.of(), false, true, new byte[64],
            Map.of("measurement", "a1".repeat(48)), Map.of("issued_at", 1L), new byte[32], Optional.empty(),
            Optional.of("sim:" + "0a".repeat(16)));

    @Test
    void storedNodeReadsBackAndAnUpsertReplacesIt(@TempDir Path dir) {
        try (Database db = Database.open(DatabaseSettings.embedded(), dir)) {
            NodeStore store = new NodeStore(db);
            store.upsert(entry("payments", NodeState.ATTESTED, ""), T);
            store.upsert(entry("payments", NodeState.REVOKED, "compromised"), T);
            NodeEntry back = store.load("payments").orElseThrow();
            assertEquals(entry("payments", NodeState.REVOKED, "compromised"), back);
            assertEquals(List.of(back), store.loadAll());
            assertEquals(Optional.empty(), store.load("orders"));
        }
    }

    /** On the embedded H2 store and on PostgreSQL. */
    @Test
    void appraisalUpdatesWriteTheirColumns(@TempDir Path h2, @TempDir Path pg) {
        onH2(h2, NodeStoreTest::updatesAppraisals);
        onPostgres(pg, NodeStoreTest::updatesAppraisals);
    }

    /**
     * Re-appraisal results of more nodes than one batch: new policies and expiry for all, a withdrawal for
     * some, evidence judged anew for others, and one node whose row is gone (written whole). Reading back
     * gives exactly the records passed in; a set the database refuses changes nothing.
     */
    private static void updatesAppraisals(NodeStore store) {
        int n = NodeStore.BATCH + 77;
        List<NodeEntry> appraised = new ArrayList<>();
        java.util.Set<String> judged = new java.util.HashSet<>();
        dev.attestmesh.quote.VerifiedEvidence rejudged = new dev.attestmesh.quote.VerifiedEvidence(
                TeeType.SIM, dev.attestmesh.quote.TcbStatus.OUT_OF_DATE, List.of("INTEL-SA-00999"), false, true,
                new byte[64], Map.of("measurement", "a1".repeat(48)), Map.of("issued_at", 2L), new byte[32],
                Optional.empty(), Optional.of("sim:" + "0a".repeat(16)));
        for (int i = 0; i < n; i++) {
            NodeEntry before = entry("appraised-" + i, NodeState.ATTESTED, "");
            if (i != n - 1) {
                store.upsert(before, T); // the last one's row is gone
            }
            NodeState state = i % 5 == 0 ? NodeState.EXPIRED : NodeState.ATTESTED;
            String reason = state == NodeState.EXPIRED ? "identity withdrawn after a policy change: " + i : "";
            if (i % 7 == 0) {
                judged.add(before.nodeId());
                appraised.add(before.withReappraisal(rejudged, Map.of("default", 4L, "strict", 1L), T.plusSeconds(300),
                        state, reason));
            } else {
                appraised.add(before.withReappraisal(Map.of("default", 4L), T.plusSeconds(900), state, reason));
            }
        }
        store.updateAppraisals(appraised, judged, T.plusSeconds(5));
        List<NodeEntry> back = store.loadAll();
        assertEquals(n, back.size());
        assertTrue(back.containsAll(appraised), "every row holds its appraisal, and the gone one is whole again");

        List<NodeEntry> refused = new ArrayList<>();
        for (NodeEntry e : appraised) {
            refused.add(e.withState(NodeState.EXPIRED, "second pass"));
        }
        refused.add(withNodeId(appraised.get(1), "y".repeat(200))); // no row, and too long to insert
        org.junit.jupiter.api.Assertions.assertThrows(StoreException.class,
                () -> store.updateAppraisals(refused, java.util.Set.of(), T.plusSeconds(9)));
        assertTrue(store.loadAll().containsAll(appraised), "the refused set changed nothing");
    }

    private static void onH2(Path dir, java.util.function.Consumer<NodeStore> body) {
        try (Database db = Database.open(DatabaseSettings.embedded(), dir)) {
            body.accept(new NodeStore(db));
        }
    }

    private static void onPostgres(Path dir, java.util.function.Consumer<NodeStore> body) {
        try (Database db = Database.open(TestPostgres.freshSchema(), dir)) {
            body.accept(new NodeStore(db));
        }
    }

    /** {@code e} under another node id. */
    private static NodeEntry withNodeId(NodeEntry e, String nodeId) {
        return new NodeEntry(nodeId, e.spiffeId(), e.tee(), e.measurement(), e.state(), e.stateReason(), e.claims(),
                e.satisfiedPolicies(), e.certChainPem(), e.certSerialHex(), e.certSha256(), e.previousCertSha256(),
                e.certNotAfter(), e.evidenceExpiresAt(), e.attestedAt(), e.evidence(), e.registration(), e.keySha256(),
                e.kubernetes());
    }

    /** A node of every TEE type is stored, on H2 and PostgreSQL (az-snp-vtpm did not fit the column before V10). */
    @Test
    void nodesOfEveryTeeTypeAreStored(@TempDir Path h2, @TempDir Path pg) {
        onH2(h2, NodeStoreTest::storesEveryTeeType);
        onPostgres(pg, NodeStoreTest::storesEveryTeeType);
    }

    private static void storesEveryTeeType(NodeStore store) {
        for (TeeType tee : TeeType.values()) {
            NodeEntry base = entry("node-" + tee.wireName(), NodeState.ATTESTED, "");
            NodeEntry e = new NodeEntry(base.nodeId(), base.spiffeId(), tee, base.measurement(), base.state(),
                    base.stateReason(), base.claims(), base.satisfiedPolicies(), base.certChainPem(), base.certSerialHex(),
                    base.certSha256(), base.previousCertSha256(), base.certNotAfter(), base.evidenceExpiresAt(),
                    base.attestedAt(), base.evidence(), base.registration(), base.keySha256(), base.kubernetes());
            store.upsert(e, T);
            assertEquals(tee, store.load(e.nodeId()).orElseThrow().tee());
        }
    }

    /** Renewals and revocations of the same nodes through two replicas at once: none may fail. */
    @Test
    void concurrentWritesOfTheSameNodesFromTwoReplicasOnPostgresNeverFailAndLastWriteWins(@TempDir Path dir)
            throws Exception {
        DatabaseSettings pg = TestPostgres.freshSchema();
        try (Database dbA = Database.open(pg, dir); Database dbB = Database.open(pg, dir)) {
            NodeStore a = new NodeStore(dbA);
            NodeStore b = new NodeStore(dbB);
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int w = 0; w < 4; w++) {
                    NodeStore store = w % 2 == 0 ? a : b;
                    int writer = w;
                    done.add(pool.submit(() -> {
                        for (int i = 0; i < 20; i++) {
                            // New ids appear at the same time on both replicas (the insert race), then update.
                            store.upsert(entry("node-" + (i % 5), NodeState.ATTESTED, "w" + writer), T);
                        }
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get(60, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(5, a.loadAll().size());
            b.upsert(entry("node-0", NodeState.REVOKED, "last"), T);
            assertEquals(NodeState.REVOKED, a.load("node-0").orElseThrow().state());
            assertTrue(a.load("node-0").orElseThrow().stateReason().equals("last"));
        }
    }
}
