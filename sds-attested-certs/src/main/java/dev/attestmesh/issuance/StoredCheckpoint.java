package dev.attestmesh.issuance;

import java.util.Objects;

/**
 * A signed checkpoint as kept by a {@link CheckpointStore}.
 *
 * @param id position among stored checkpoints, starting at 1
 * @param signed the checkpoint and its signed note
 */
public record StoredCheckpoint(long id, SignedCheckpoint signed) {
    public StoredCheckpoint {
        Objects.requireNonNull(signed, "signed");
    }

    public Checkpoint checkpoint() {
        return signed.checkpoint();
    }

    public String note() {
        return signed.note();
    }
}
