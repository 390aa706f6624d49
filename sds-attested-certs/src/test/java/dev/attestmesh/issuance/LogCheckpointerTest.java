package dev.attestmesh.issuance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.ca.MeshCa;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class LogCheckpointerTest {
    static final Instant NOW = Instant.parse("2026-03-01T12:00:00.750Z");
    static final MeshCa CA = MeshCa.generate("mesh.example", Clock.fixed(NOW, ZoneOffset.UTC));

    final InMemoryIssuanceLogStore entries = new InMemoryIssuanceLogStore();
    final IssuanceLog log = new IssuanceLog(entries);
    final InMemoryCheckpointStore stored = new InMemoryCheckpointStore();
    final LogCheckpointer checkpointer = new LogCheckpointer(log, stored, () -> CA, Clock.fixed(NOW, ZoneOffset.UTC));

    void issue(int n) {
        long start = log.head().map(IssuanceLogEntry::sequence).orElse(0L);
        for (int i = 0; i < n; i++) {
            log.append("0b" + (start + i), "node-" + i, "spiffe://mesh.example/node-" + i, "cd".repeat(32),
                    List.of("default"), Instant.parse("2026-03-01T00:00:00Z").plusSeconds(start + i));
        }
    }

    CheckpointVerifier verifier() throws CheckpointException {
        return CheckpointVerifier.forCertificate(CA.checkpointKey().orElseThrow().certificate(), CA.root());
    }

    /** Replaces entry {@code seq}'s node id and recomputes every later hash and link, as an attacker would. */
    void rewriteAndRechain(long seq) {
        String prev = seq == 1 ? IssuanceLog.GENESIS_HASH : log.list(seq - 1, 1).getFirst().hashHex();
        for (IssuanceLogEntry e : log.list(seq, 10_000)) {
            String node = e.sequence() == seq ? "forged" : e.nodeId();
            String hash = IssuanceLog.hash(e.sequence(), e.serialHex(), node, e.spiffeId(), e.evidenceSha256Hex(),
                    e.policyIds(), e.issuedAt(), prev);
            entries.tamper(new IssuanceLogEntry(e.sequence(), e.serialHex(), node, e.spiffeId(), e.evidenceSha256Hex(),
                    e.policyIds(), e.issuedAt(), prev, hash));
            prev = hash;
        }
    }

    @Test
    void signsTheHeadAndOnScheduleOnlyWhenTheLogGrew() throws Exception {
        assertEquals(Optional.empty(), checkpointer.checkpointIfGrown(), "nothing to sign for an empty log");
        issue(600); // more than one verification page
        StoredCheckpoint first = checkpointer.checkpointIfGrown().orElseThrow();
        Checkpoint c = verifier().verify(first.note());
        assertEquals(600, c.size());
        assertEquals(log.head().orElseThrow().hashHex(), c.headHashHex());
        assertEquals(NOW.getEpochSecond(), c.timestamp().getEpochSecond());
        assertEquals("mesh.example/attestmesh/issuance-log", c.origin());
        assertEquals(Optional.empty(), checkpointer.checkpointIfGrown(), "not grown: no new checkpoint");
        assertEquals(2, checkpointer.checkpointNow().id(), "on demand always signs");
        issue(3);
        StoredCheckpoint third = checkpointer.checkpointIfGrown().orElseThrow();
        assertEquals(603, third.checkpoint().size());
        assertEquals(3, checkpointer.list(1, 10).size());
        assertEquals(third, checkpointer.latest().orElseThrow());
    }

    @Test
    void anHonestLogThatGrewVerifiesAgainstAnOlderCheckpoint() throws Exception {
        issue(5);
        Checkpoint c = verifier().verify(checkpointer.checkpointNow().note());
        issue(4);
        LogAudit a = IssuanceLogVerifier.verifyAgainst(log::list, c);
        assertTrue(a.consistent(), a.message());
        assertEquals(9, a.entriesChecked());
    }

    @Test
    void aTruncatedTailPassesThePlainChainCheckButNotTheCheckpoint() throws Exception {
        issue(6);
        Checkpoint c = verifier().verify(checkpointer.checkpointNow().note());
        entries.truncateFrom(4);
        assertTrue(log.verify().intact(), "three entries still chain");
        LogAudit a = IssuanceLogVerifier.verifyAgainst(log::list, c);
        assertEquals(LogAudit.Outcome.TRUNCATED, a.outcome());
        assertEquals(Optional.of(4L), a.sequence());
        assertTrue(a.message().contains("entries 4..6 were removed"), a.message());
        var refused = assertThrows(CheckpointRefusedException.class, checkpointer::checkpointIfGrown);
        assertTrue(refused.getMessage().contains("truncated"), refused.getMessage());
        assertEquals(1, stored.list(1, 10).size(), "nothing signed over the damage");
    }

    @Test
    void aRewrittenAndRechainedLogPassesThePlainChainCheckButNotTheCheckpoint() throws Exception {
        issue(6);
        Checkpoint c = verifier().verify(checkpointer.checkpointNow().note());
        issue(2);
        rewriteAndRechain(3);
        assertTrue(log.verify().intact(), "the attacker recomputed the chain");
        LogAudit a = IssuanceLogVerifier.verifyAgainst(log::list, c);
        assertEquals(LogAudit.Outcome.REWRITTEN, a.outcome());
        assertEquals(Optional.of(6L), a.sequence());
        assertTrue(a.message().contains("rewritten at or before entry 6"), a.message());
        assertThrows(CheckpointRefusedException.class, checkpointer::checkpointNow);
        assertThrows(CheckpointRefusedException.class, checkpointer::checkpointIfGrown);
    }

    @Test
    void aRewriteAfterTheCheckpointIsNoRewriteOfWhatItCoversButABrokenChainStillShows() throws Exception {
        issue(4);
        Checkpoint c = verifier().verify(checkpointer.checkpointNow().note());
        issue(3);
        rewriteAndRechain(6);
        assertTrue(IssuanceLogVerifier.verifyAgainst(log::list, c).consistent(),
                "entries after the checkpoint are not covered by it");
        IssuanceLogEntry e = log.list(5, 1).getFirst();
        entries.tamper(new IssuanceLogEntry(5, e.serialHex(), "evil", e.spiffeId(), e.evidenceSha256Hex(), e.policyIds(),
                e.issuedAt(), e.previousHashHex(), e.hashHex()));
        LogAudit a = IssuanceLogVerifier.verifyAgainst(log::list, c);
        assertEquals(LogAudit.Outcome.BROKEN_CHAIN, a.outcome());
        assertEquals(Optional.of(5L), a.sequence());
    }

    @Test
    void theFirstCheckpointIsRefusedOverABrokenChain() {
        issue(4);
        IssuanceLogEntry e = log.list(2, 1).getFirst();
        entries.tamper(new IssuanceLogEntry(2, e.serialHex(), "evil", e.spiffeId(), e.evidenceSha256Hex(), e.policyIds(),
                e.issuedAt(), e.previousHashHex(), e.hashHex()));
        var refused = assertThrows(CheckpointRefusedException.class, checkpointer::checkpointNow);
        assertTrue(refused.getMessage().contains("broken at entry 2"), refused.getMessage());
        assertEquals(Optional.empty(), stored.latest());
    }

    @Test
    void anAlteredStoredCheckpointStopsFurtherSigning() {
        issue(2);
        StoredCheckpoint good = checkpointer.checkpointNow();
        InMemoryCheckpointStore forged = new InMemoryCheckpointStore();
        String note = good.note().replaceFirst("\n2\n", "\n1\n");
        forged.appendNext(none -> Optional.of(new SignedCheckpoint(good.checkpoint(), note)));
        LogCheckpointer other = new LogCheckpointer(log, forged, () -> CA, Clock.fixed(NOW, ZoneOffset.UTC));
        var refused = assertThrows(CheckpointRefusedException.class, other::checkpointNow);
        assertTrue(refused.getMessage().contains("checkpoint table was altered"), refused.getMessage());
    }
}
