package dev.attestmesh.issuance;

/**
 * The control plane refused to sign a checkpoint because the stored log is not consistent with what it
 * signed before (truncated, rewritten, a broken chain, or an altered stored checkpoint): signing would
 * bless the damage. Unchecked so that it can leave a {@link CheckpointStore#appendNext} step, which then
 * stores nothing.
 */
public final class CheckpointRefusedException extends RuntimeException {
    public CheckpointRefusedException(String message) {
        super(message);
    }
}
