package dev.attestmesh.server.mesh;

import java.util.List;
import java.util.Map;

/**
 * The mesh config's answer to "which policies must a caller of this node on this port satisfy", for
 * ext_authz requests that carry no {@code x-attestmesh-policy-ids} header (the Istio case).
 */
public interface MeshPolicyLookup {
    /** A lookup for a control plane without a mesh config: nothing is required by the mesh. */
    MeshPolicyLookup NONE = new MeshPolicyLookup() {
        @Override
        public List<String> requiredPolicies(String nodeId, int port) {
            return List.of();
        }

        @Override
        public Map<String, Map<Integer, List<String>>> requiredPoliciesByNode() {
            return Map.of();
        }

        @Override
        public void addChangeListener(Runnable onChange) {
            // never changes
        }
    };

    /** Required policy IDs for connections to {@code nodeId} on {@code port}; empty when none. */
    List<String> requiredPolicies(String nodeId, int port);

    /**
     * Every non-empty answer of {@link #requiredPolicies}: node id to port to policy IDs. A node or
     * port that is absent requires nothing. Immutable; what standalone ext_authz replicas receive.
     */
    Map<String, Map<Integer, List<String>>> requiredPoliciesByNode();

    /** Runs {@code onChange} after any change that can alter {@link #requiredPolicies}. */
    void addChangeListener(Runnable onChange);
}
