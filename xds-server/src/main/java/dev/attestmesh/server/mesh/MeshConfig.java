package dev.attestmesh.server.mesh;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The declarative mesh config: services, their members, ingress and egress ports, and the policy IDs
 * each connection requires. Immutable and valid by construction when it comes from
 * {@link MeshConfigParser}. The format is documented in {@code docs/mesh-config.md}.
 */
public record MeshConfig(List<MeshService> services) {
    /** Node metadata key whose string value is the IP address other nodes reach the node on. */
    public static final String ADDRESS_METADATA_KEY = "attestmesh.address";

    /** A mesh with no services: nodes get only their SDS secrets. */
    public static final MeshConfig EMPTY = new MeshConfig(List.of());

    public MeshConfig {
        services = List.copyOf(services);
    }

    public Optional<MeshService> service(String name) {
        return services.stream().filter(s -> s.name().equals(name)).findFirst();
    }

    /** The services a node belongs to, in config order. */
    public List<MeshService> servicesOf(String nodeId, EnvoyNodeIdentity identity) {
        List<MeshService> out = new ArrayList<>();
        for (MeshService s : services) {
            if (s.members().matches(nodeId, identity)) {
                out.add(s);
            }
        }
        return out;
    }

    /**
     * Policy IDs a caller must satisfy to reach the node {@code nodeId} on {@code port}: the union over
     * the node's services' ingress ports listening there, in config order; empty when none.
     */
    public List<String> requiredPolicies(String nodeId, EnvoyNodeIdentity identity, int port) {
        Set<String> out = new LinkedHashSet<>();
        for (MeshService s : servicesOf(nodeId, identity)) {
            s.ingressOn(port).ifPresent(i -> out.addAll(i.policies()));
        }
        return List.copyOf(out);
    }
}
