package dev.attestmesh.issuance;

import java.util.Objects;

/**
 * A checkpoint and its signed note ({@link CheckpointNotes}): {@code note} is what verifiers receive and
 * check; {@code checkpoint} is what it says.
 */
public record SignedCheckpoint(Checkpoint checkpoint, String note) {
    public SignedCheckpoint {
        Objects.requireNonNull(checkpoint, "checkpoint");
        Objects.requireNonNull(note, "note");
    }
}
