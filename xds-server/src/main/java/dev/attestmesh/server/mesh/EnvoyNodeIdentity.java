package dev.attestmesh.server.mesh;

import java.util.Map;
import java.util.Optional;

/**
 * What an xDS client said about itself in its {@code Node} message: the Envoy node {@code cluster} and
 * the string-valued entries of its {@code metadata}. Only recorded for streams already tied to an
 * attested node by its certificate, so a node cannot pose as another node; it can still describe itself
 * with any cluster or metadata, which is why membership by cluster or metadata only says which
 * configuration an attested node receives, never whether it is trusted.
 *
 * <p>It is kept in memory for every connected node, so what a node may present is bounded ({@link
 * #limitProblem}); the xDS server refuses a {@code Node} beyond the limits, and a mesh config naming
 * more than a node may present is refused too (it could never match).
 */
public record EnvoyNodeIdentity(String cluster, Map<String, String> metadata) {
    /** A node that has not connected yet. */
    public static final EnvoyNodeIdentity UNKNOWN = new EnvoyNodeIdentity("", Map.of());

    /** Longest {@code cluster}, in characters. */
    public static final int MAX_CLUSTER_CHARS = 256;
    /** Most string-valued metadata entries. */
    public static final int MAX_METADATA_ENTRIES = 64;
    /** Longest metadata key, in characters. */
    public static final int MAX_METADATA_KEY_CHARS = 128;
    /** Longest string metadata value, in characters. */
    public static final int MAX_METADATA_VALUE_CHARS = 1024;

    public EnvoyNodeIdentity {
        metadata = Map.copyOf(metadata);
    }

    /**
     * Why a cluster and string metadata are beyond what a node may present, naming the limit; empty
     * when they are within it.
     */
    public static Optional<String> limitProblem(String cluster, Map<String, String> metadata) {
        if (cluster.length() > MAX_CLUSTER_CHARS) {
            return Optional.of("cluster is " + cluster.length() + " characters long; at most " + MAX_CLUSTER_CHARS
                    + " are accepted");
        }
        if (metadata.size() > MAX_METADATA_ENTRIES) {
            return Optional.of("metadata has " + metadata.size() + " string entries; at most " + MAX_METADATA_ENTRIES
                    + " are accepted");
        }
        for (Map.Entry<String, String> e : metadata.entrySet()) {
            if (e.getKey().length() > MAX_METADATA_KEY_CHARS) {
                return Optional.of("a metadata key is " + e.getKey().length() + " characters long; at most "
                        + MAX_METADATA_KEY_CHARS + " are accepted");
            }
            if (e.getValue().length() > MAX_METADATA_VALUE_CHARS) {
                return Optional.of("metadata value of '" + dev.attestmesh.input.UntrustedText.forLog(e.getKey())
                        + "' is " + e.getValue().length() + " characters long; at most " + MAX_METADATA_VALUE_CHARS
                        + " are accepted");
            }
        }
        return Optional.empty();
    }
}
