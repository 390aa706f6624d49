package dev.attestmesh.envoy;

import java.util.Objects;

/**
 * One way in which an Envoy configuration breaks Envoy's schema.
 *
 * @param path the field path in proto field names from the validated message's root, with list indexes
 *     and map keys, e.g. {@code static_resources.listeners[0].filter_chains[0].filters[1].typed_config.stat_prefix};
 *     {@code typed_config} segments step into the unpacked {@code Any}; empty for the root itself
 * @param description what is wrong, naming the rule, e.g. {@code length 0 < min_len 1}
 */
public record Violation(String path, String description) {

    /** Checks both parts are present. */
    public Violation {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(description, "description");
    }

    /** {@code path: description}, or just the description for the root. */
    @Override
    public String toString() {
        return path.isEmpty() ? description : path + ": " + description;
    }
}
