package dev.attestmesh.server.store;

import java.util.Objects;

/**
 * What offering a set of documents to a store as its first content did. A store takes the set only while it
 * holds none of its kind, decided under the store's lock, so replicas starting together on an empty database
 * seed it once; any later start leaves the stored set (which the admin API may have changed) alone.
 *
 * @param written whether the set was written (the store held none)
 * @param heldBefore how many documents the store held when asked (0 when written)
 * @param diff when written, the set itself (every id added); otherwise what writing it would change
 */
public record SeedResult(boolean written, int heldBefore, DocumentSetDiff diff) {
    public SeedResult {
        Objects.requireNonNull(diff, "diff");
        if (heldBefore < 0 || (written && heldBefore != 0)) {
            throw new IllegalArgumentException("a seeded store held nothing before, not " + heldBefore);
        }
    }
}
