package dev.attestmesh.issuance;

import java.util.List;
import java.util.Optional;

/**
 * Storage behind the {@link IssuanceLog}. Implementations only append; they never rewrite or
 * delete entries. Appends are serialized by the log, so a store need not lock across calls.
 */
public interface IssuanceLogStore {
    /** Persists {@code e} durably before returning. */
    void append(IssuanceLogEntry e);

    /** The entry with the highest sequence, if any. */
    Optional<IssuanceLogEntry> last();

    /** Up to {@code limit} entries with sequence {@code >= fromSequence}, in sequence order. */
    List<IssuanceLogEntry> list(long fromSequence, int limit);
}
