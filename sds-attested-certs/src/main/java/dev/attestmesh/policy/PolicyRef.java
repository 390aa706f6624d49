package dev.attestmesh.policy;

import java.util.Objects;

/**
 * A policy ID together with the policy version a node was appraised against. A certificate or
 * registry record that names a policy at an older version than the current one no longer counts as
 * satisfying it.
 *
 * @param id policy ID, e.g. {@code default}
 * @param version policy version, positive
 */
public record PolicyRef(String id, long version) {
    public PolicyRef {
        Objects.requireNonNull(id, "id");
        if (id.isEmpty()) {
            throw new IllegalArgumentException("policy id must not be empty");
        }
        if (version < 1) {
            throw new IllegalArgumentException("policy version must be >= 1, got " + version + " for '" + id + "'");
        }
    }
}
