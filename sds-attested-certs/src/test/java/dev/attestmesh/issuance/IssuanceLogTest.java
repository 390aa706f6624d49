package dev.attestmesh.issuance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class IssuanceLogTest {
    private static IssuanceLog logWith(InMemoryIssuanceLogStore store, int n) {
        IssuanceLog log = new IssuanceLog(store);
        for (int i = 0; i < n; i++) {
            log.append("0a" + i, "node-" + i, "spiffe://td/node/node-" + i, "ab".repeat(32), List.of("default"),
                    Instant.parse("2026-03-01T00:00:00Z").plusSeconds(i));
        }
        return log;
    }

    @Test
    void appendsChainedEntriesAndVerifies() {
        InMemoryIssuanceLogStore store = new InMemoryIssuanceLogStore();
        IssuanceLog log = logWith(store, 600); // more than one verification page
        List<IssuanceLogEntry> first = log.list(1, 2);
        assertEquals(IssuanceLog.GENESIS_HASH, first.get(0).previousHashHex());
        assertEquals(first.get(0).hashHex(), first.get(1).previousHashHex());
        assertEquals(1, first.get(0).sequence());
        LogVerification v = log.verify();
        assertTrue(v.intact());
        assertEquals(600, v.entriesChecked());
        assertEquals(Optional.empty(), v.firstBrokenSequence());
    }

    @Test
    void reportsFirstAlteredEntry() {
        InMemoryIssuanceLogStore store = new InMemoryIssuanceLogStore();
        IssuanceLog log = logWith(store, 10);
        IssuanceLogEntry e = log.list(4, 1).get(0);
        store.tamper(new IssuanceLogEntry(e.sequence(), e.serialHex(), "evil-node", e.spiffeId(), e.evidenceSha256Hex(),
                e.policyIds(), e.issuedAt(), e.previousHashHex(), e.hashHex()));
        LogVerification v = log.verify();
        assertFalse(v.intact());
        assertEquals(Optional.of(4L), v.firstBrokenSequence());
        assertTrue(v.problem().orElseThrow().contains("altered"));
    }

    @Test
    void reportsBrokenLinkWhenAnEntryIsRehashedInIsolation() {
        InMemoryIssuanceLogStore store = new InMemoryIssuanceLogStore();
        IssuanceLog log = logWith(store, 5);
        IssuanceLogEntry e = log.list(2, 1).get(0);
        String rehash = IssuanceLog.hash(2, e.serialHex(), "evil", e.spiffeId(), e.evidenceSha256Hex(), e.policyIds(),
                e.issuedAt(), e.previousHashHex());
        store.tamper(new IssuanceLogEntry(2, e.serialHex(), "evil", e.spiffeId(), e.evidenceSha256Hex(), e.policyIds(),
                e.issuedAt(), e.previousHashHex(), rehash));
        LogVerification v = log.verify();
        assertEquals(Optional.of(3L), v.firstBrokenSequence());
        assertTrue(v.problem().orElseThrow().contains("previous-hash"));
    }

    @Test
    void fieldBoundariesAreUnambiguous() {
        Instant t = Instant.EPOCH;
        assertFalse(IssuanceLog.hash(1, "ab", "c", "s", "e", List.of(), t, "p")
                .equals(IssuanceLog.hash(1, "a", "bc", "s", "e", List.of(), t, "p")));
        assertFalse(IssuanceLog.hash(1, "a", "b", "s", "e", List.of("x", "y"), t, "p")
                .equals(IssuanceLog.hash(1, "a", "b", "s", "e", List.of("xy"), t, "p")));
    }

    @Test
    void releaseEntriesChainWithCertificateEntriesAndCertificateHashesAreUnchanged() {
        InMemoryIssuanceLogStore store = new InMemoryIssuanceLogStore();
        IssuanceLog log = logWith(store, 2);
        IssuanceLogEntry cert = log.list(1, 1).get(0);
        // a certificate entry hashes exactly as before release entries existed
        assertEquals(IssuanceLog.hash(1, cert.serialHex(), cert.nodeId(), cert.spiffeId(), cert.evidenceSha256Hex(),
                cert.policyIds(), cert.issuedAt(), IssuanceLog.GENESIS_HASH), cert.hashHex());
        IssuanceLogEntry r = log.appendRelease("db", 3, "0a1", "node-1", "spiffe://td/node/node-1", "ab".repeat(32),
                List.of("default"), Instant.parse("2026-03-01T01:00:00Z"));
        log.append("0a9", "node-9", "spiffe://td/node/node-9", "ab".repeat(32), List.of("default"),
                Instant.parse("2026-03-01T02:00:00Z"));
        assertEquals(Optional.of(new IssuanceLogEntry.SecretRelease("db", 3)), r.release());
        assertTrue(log.verify().intact());
        assertEquals(4, log.verify().entriesChecked());
    }

    @Test
    void aReleaseEntryAlteredOrPassedOffAsACertificateBreaksTheChain() {
        InMemoryIssuanceLogStore store = new InMemoryIssuanceLogStore();
        IssuanceLog log = logWith(store, 1);
        IssuanceLogEntry r = log.appendRelease("db", 1, "0a1", "node-1", "spiffe://td/node/node-1", "ab".repeat(32),
                List.of("default"), Instant.parse("2026-03-01T01:00:00Z"));
        store.tamper(new IssuanceLogEntry(r.sequence(), r.serialHex(), r.nodeId(), r.spiffeId(), r.evidenceSha256Hex(),
                r.policyIds(), r.issuedAt(), r.previousHashHex(), r.hashHex(),
                Optional.of(new IssuanceLogEntry.SecretRelease("db", 2))));
        assertEquals(Optional.of(2L), log.verify().firstBrokenSequence(), "version changed");
        store.tamper(new IssuanceLogEntry(r.sequence(), r.serialHex(), r.nodeId(), r.spiffeId(), r.evidenceSha256Hex(),
                r.policyIds(), r.issuedAt(), r.previousHashHex(), r.hashHex()));
        assertEquals(Optional.of(2L), log.verify().firstBrokenSequence(), "release dropped: now a certificate entry");
    }
}
