package dev.attestmesh.server.watch;

import com.google.protobuf.ByteString;
import dev.attestmesh.api.v1.MeshPolicyRequirement;
import dev.attestmesh.api.v1.NodeRecord;
import java.util.List;
import java.util.Map;

/**
 * Everything a standalone ext_authz replica needs, as it would be sent on the wire: every node's
 * record, the current version of every policy, the trust bundle (DER), and the mesh config's policy
 * requirements by destination principal and port (sorted). Immutable; equal states produce equal
 * events.
 */
record RegistryState(Map<String, NodeRecord> nodes, Map<String, Long> policyVersions, List<ByteString> trustBundle,
        List<MeshPolicyRequirement> meshRequirements) {
    RegistryState {
        nodes = Map.copyOf(nodes);
        policyVersions = Map.copyOf(policyVersions);
        trustBundle = List.copyOf(trustBundle);
        meshRequirements = List.copyOf(meshRequirements);
    }
}
