package dev.attestmesh.issuance;

import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Storage behind the {@link IssuanceLog}. Implementations only append; they never rewrite or
 * delete entries. Within one process the log serializes appends; a store shared by several processes
 * overrides {@link #appendNext} to serialize them across processes too.
 */
public interface IssuanceLogStore {
    /** Persists {@code e} durably before returning. */
    void append(IssuanceLogEntry e);

    /**
     * Appends the entry that {@code next} builds from the current last entry (empty for the first) as
     * one atomic step: no other append can come between reading the last entry and persisting the new
     * one. {@code next} is called once. This default relies on the {@link IssuanceLog}'s lock, which
     * holds in one process only; stores shared by several processes override it.
     *
     * @return the entry persisted
     */
    default IssuanceLogEntry appendNext(Function<Optional<IssuanceLogEntry>, IssuanceLogEntry> next) {
        IssuanceLogEntry e = next.apply(last());
        append(e);
        return e;
    }

    /** The entry with the highest sequence, if any. */
    Optional<IssuanceLogEntry> last();

    /** Up to {@code limit} entries with sequence {@code >= fromSequence}, in sequence order. */
    List<IssuanceLogEntry> list(long fromSequence, int limit);
}
