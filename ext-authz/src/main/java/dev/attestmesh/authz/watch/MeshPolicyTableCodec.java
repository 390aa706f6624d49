package dev.attestmesh.authz.watch;

import dev.attestmesh.api.v1.MeshPolicyRequirement;
import dev.attestmesh.authz.MeshPolicyTable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@link MeshPolicyTable} to and from {@code RegistryEvent.mesh_requirements}: the control plane
 * encodes, a standalone replica decodes. Equal tables encode to equal lists (sorted by principal,
 * then port), so the control plane can tell by comparing encodings whether a replica's table changed.
 */
public final class MeshPolicyTableCodec {
    private MeshPolicyTableCodec() {}

    /** The table as wire entries, sorted by principal then port. */
    public static List<MeshPolicyRequirement> encode(MeshPolicyTable table) {
        List<MeshPolicyRequirement> out = new ArrayList<>(table.size());
        for (Map.Entry<String, Map<Integer, List<String>>> p : new TreeMap<>(table.byPrincipal()).entrySet()) {
            for (Map.Entry<Integer, List<String>> port : new TreeMap<>(p.getValue()).entrySet()) {
                out.add(MeshPolicyRequirement.newBuilder().setDestinationPrincipal(p.getKey()).setPort(port.getKey())
                        .addAllPolicyIds(port.getValue()).build());
            }
        }
        return List.copyOf(out);
    }

    /**
     * The table the entries describe.
     *
     * @throws IllegalArgumentException naming the first entry that is invalid (blank principal, port
     *     outside 1-65535, no or blank or repeated policy IDs) or given twice
     */
    public static MeshPolicyTable decode(List<MeshPolicyRequirement> entries) {
        MeshPolicyTable.Builder b = MeshPolicyTable.builder();
        for (MeshPolicyRequirement r : entries) {
            // uint32 arrives as a signed int: 4294967295 reads as -1, which the range check rejects
            b.require(r.getDestinationPrincipal(), r.getPort(), r.getPolicyIdsList());
        }
        return b.build();
    }
}
