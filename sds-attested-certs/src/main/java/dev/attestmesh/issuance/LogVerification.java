package dev.attestmesh.issuance;

import java.util.Optional;

/**
 * Result of checking the issuance log's hash chain.
 *
 * @param intact true when every entry's hash and link verified and sequences are contiguous
 * @param entriesChecked entries examined (up to and including the first broken one)
 * @param firstBrokenSequence sequence of the first entry that failed, if any
 * @param problem what failed at that entry
 */
public record LogVerification(boolean intact, long entriesChecked, Optional<Long> firstBrokenSequence,
        Optional<String> problem) {}
