package dev.attestmesh.server.mesh;

import java.util.Map;

/**
 * What an xDS client said about itself in its {@code Node} message: the Envoy node {@code cluster} and
 * the string-valued entries of its {@code metadata}. Only recorded for streams already tied to an
 * attested node by its certificate, so a node cannot pose as another node; it can still describe itself
 * with any cluster or metadata, which is why membership by cluster or metadata only says which
 * configuration an attested node receives, never whether it is trusted.
 */
public record EnvoyNodeIdentity(String cluster, Map<String, String> metadata) {
    /** A node that has not connected yet. */
    public static final EnvoyNodeIdentity UNKNOWN = new EnvoyNodeIdentity("", Map.of());

    public EnvoyNodeIdentity {
        metadata = Map.copyOf(metadata);
    }
}
