package dev.attestmesh.issuance;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;

/** An {@link IssuanceLogStore} in memory, for tests and single-process development. Thread-safe. */
public final class InMemoryIssuanceLogStore implements IssuanceLogStore {
    private final ConcurrentSkipListMap<Long, IssuanceLogEntry> entries = new ConcurrentSkipListMap<>();

    @Override
    public void append(IssuanceLogEntry e) {
        if (entries.putIfAbsent(e.sequence(), e) != null) {
            throw new IllegalStateException("issuance log already has an entry with sequence " + e.sequence());
        }
    }

    @Override
    public Optional<IssuanceLogEntry> last() {
        var last = entries.lastEntry();
        return last == null ? Optional.empty() : Optional.of(last.getValue());
    }

    @Override
    public List<IssuanceLogEntry> list(long fromSequence, int limit) {
        List<IssuanceLogEntry> out = new ArrayList<>(Math.min(Math.max(limit, 0), 1024));
        for (IssuanceLogEntry e : entries.tailMap(fromSequence, true).values()) {
            if (out.size() >= limit) {
                break;
            }
            out.add(e);
        }
        return out;
    }

    /** Replaces an entry in place: only for tests that simulate tampering with storage. */
    void tamper(IssuanceLogEntry replacement) {
        entries.put(replacement.sequence(), replacement);
    }

    /** Removes every entry from {@code sequence} on: only for tests that simulate truncating storage. */
    void truncateFrom(long sequence) {
        entries.tailMap(sequence, true).clear();
    }
}
