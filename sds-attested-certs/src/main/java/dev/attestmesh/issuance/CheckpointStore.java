package dev.attestmesh.issuance;

import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Where signed checkpoints of the issuance log are kept. Append-only: checkpoints are never rewritten.
 * A stored checkpoint is not trusted because it is stored; readers verify its note's signature.
 */
public interface CheckpointStore {
    /**
     * In one atomic step (no other {@code appendNext} in this or another process sharing the store comes
     * between): reads the latest checkpoint, asks {@code next} for the one to add, and stores it with the
     * next id. {@code next} may return empty (nothing to add) or throw, which stores nothing.
     *
     * @return the checkpoint stored, if any
     */
    Optional<StoredCheckpoint> appendNext(Function<Optional<StoredCheckpoint>, Optional<SignedCheckpoint>> next);

    /** The checkpoint with the highest id, if any. */
    Optional<StoredCheckpoint> latest();

    /** Up to {@code limit} checkpoints with id {@code >= fromId}, in id order. */
    List<StoredCheckpoint> list(long fromId, int limit);
}
