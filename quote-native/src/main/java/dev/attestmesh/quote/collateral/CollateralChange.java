package dev.attestmesh.quote.collateral;

import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerifiedEvidence;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A collateral cache fetched an item whose content differs from the one it held before for the same
 * key (a newer TCB Info after a TCB recovery, a new QE Identity, a CRL that moved on): evidence of the
 * affected kind must be judged again ({@link dev.attestmesh.quote.EvidenceVerifier#reappraise}).
 *
 * @param item what changed, for logs and state reasons (e.g. "TCB Info for tdx FMSPC 90C06F000000")
 * @param tees the evidence types whose TCB depends on the item
 * @param fmspcOrChip when the item is per platform (TCB Info: the FMSPC; AMD: the chip), only evidence
 *     naming it is affected; empty when every evidence of {@code tees} is
 */
public record CollateralChange(String item, Set<TeeType> tees, Optional<String> fmspcOrChip) {
    public CollateralChange {
        Objects.requireNonNull(item, "item");
        tees = Set.copyOf(tees);
        Objects.requireNonNull(fmspcOrChip, "fmspcOrChip");
    }

    /** Whether {@code evidence}'s TCB status may change with this item. */
    public boolean affects(VerifiedEvidence evidence) {
        if (!tees.contains(evidence.tee())) {
            return false;
        }
        return fmspcOrChip.isEmpty()
                || evidence.fmspcOrChip().map(f -> f.equalsIgnoreCase(fmspcOrChip.get())).orElse(false);
    }
}
