package dev.attestmesh.issuance;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/** A {@link CheckpointStore} in memory, for tests and single-process development. Thread-safe. */
public final class InMemoryCheckpointStore implements CheckpointStore {
    private final List<StoredCheckpoint> checkpoints = new ArrayList<>();

    @Override
    public synchronized Optional<StoredCheckpoint> appendNext(
            Function<Optional<StoredCheckpoint>, Optional<SignedCheckpoint>> next) {
        Optional<StoredCheckpoint> latest = latest();
        Optional<SignedCheckpoint> add = next.apply(latest);
        if (add.isEmpty()) {
            return Optional.empty();
        }
        StoredCheckpoint stored = new StoredCheckpoint(checkpoints.size() + 1L, add.get());
        checkpoints.add(stored);
        return Optional.of(stored);
    }

    @Override
    public synchronized Optional<StoredCheckpoint> latest() {
        return checkpoints.isEmpty() ? Optional.empty() : Optional.of(checkpoints.getLast());
    }

    @Override
    public synchronized List<StoredCheckpoint> list(long fromId, int limit) {
        List<StoredCheckpoint> out = new ArrayList<>();
        for (StoredCheckpoint c : checkpoints) {
            if (out.size() >= limit) {
                break;
            }
            if (c.id() >= fromId) {
                out.add(c);
            }
        }
        return out;
    }
}
