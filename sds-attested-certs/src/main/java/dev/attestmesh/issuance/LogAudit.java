package dev.attestmesh.issuance;

import java.util.Objects;
import java.util.Optional;

/**
 * The result of checking the issuance log against a signed checkpoint.
 *
 * @param outcome what was found
 * @param entriesChecked entries examined
 * @param sequence the entry the finding is about (the first broken entry, the checkpoint's last entry
 *     for a rewrite, the first missing entry for a truncation); empty when consistent
 * @param message one line for people: what was found and what it means
 */
public record LogAudit(Outcome outcome, long entriesChecked, Optional<Long> sequence, String message) {
    /** What checking a log against a checkpoint can find. */
    public enum Outcome {
        /** Every entry's hash and link verify, and the log extends the checkpoint. */
        CONSISTENT,
        /** An entry's hash or link does not verify, or an entry is missing in the middle. */
        BROKEN_CHAIN,
        /** The chain verifies but its entry at the checkpoint's size is not the head the checkpoint signed. */
        REWRITTEN,
        /** The log has fewer entries than the checkpoint covers. */
        TRUNCATED
    }

    public LogAudit {
        Objects.requireNonNull(outcome, "outcome");
        Objects.requireNonNull(sequence, "sequence");
        Objects.requireNonNull(message, "message");
    }

    public boolean consistent() {
        return outcome == Outcome.CONSISTENT;
    }
}
