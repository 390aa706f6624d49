package dev.attestmesh.server.mesh;

import java.util.Objects;

/**
 * What attestation proved about a node, as mesh membership sees it: the SPIFFE ID its registration
 * granted and that registration's ID. Unlike {@link EnvoyNodeIdentity}, which the proxy says about
 * itself, this comes from the node registry.
 */
public record AttestedNodeIdentity(String spiffeId, String registration) {
    /** A node the registry does not know. */
    public static final AttestedNodeIdentity UNKNOWN = new AttestedNodeIdentity("", "");

    public AttestedNodeIdentity {
        Objects.requireNonNull(spiffeId, "spiffeId");
        Objects.requireNonNull(registration, "registration");
    }
}
