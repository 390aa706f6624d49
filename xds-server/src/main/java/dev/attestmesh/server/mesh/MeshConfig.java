package dev.attestmesh.server.mesh;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

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
    public List<MeshService> servicesOf(String nodeId, AttestedNodeIdentity attested, EnvoyNodeIdentity presented) {
        List<MeshService> out = new ArrayList<>();
        for (MeshService s : services) {
            if (s.members().matches(nodeId, attested, presented)) {
                out.add(s);
            }
        }
        return out;
    }

    /**
     * Policy IDs a caller must satisfy to reach the node {@code nodeId} on {@code port}: the union over
     * the node's services' ingress ports listening there, in config order; empty when none.
     */
    public List<String> requiredPolicies(String nodeId, AttestedNodeIdentity attested, EnvoyNodeIdentity presented,
            int port) {
        return requiredPolicies(servicesOf(nodeId, attested, presented), port);
    }

    /**
     * {@link #requiredPolicies} for every node and port where it is not empty: node id to port to
     * policy IDs. The nodes considered are those listed by id in a membership, those in {@code
     * attested} (the registry) and those in {@code presented} (what nodes presented over xDS).
     *
     * @param presented node id to the identity the node presented; absent nodes are UNKNOWN
     * @param attested node id to the identity attestation proved; absent nodes are UNKNOWN
     */
    public Map<String, Map<Integer, List<String>>> requiredPoliciesByNode(Map<String, EnvoyNodeIdentity> presented,
            Map<String, AttestedNodeIdentity> attested) {
        boolean anyRequired = services.stream().flatMap(s -> s.ingress().stream()).anyMatch(i -> !i.policies().isEmpty());
        if (!anyRequired) {
            return Map.of();
        }
        Set<String> candidates = new TreeSet<>(presented.keySet());
        candidates.addAll(attested.keySet());
        services.forEach(s -> candidates.addAll(s.members().nodeIds()));
        Map<String, Map<Integer, List<String>>> out = new HashMap<>();
        for (String node : candidates) {
            List<MeshService> mine = servicesOf(node, attested.getOrDefault(node, AttestedNodeIdentity.UNKNOWN),
                    presented.getOrDefault(node, EnvoyNodeIdentity.UNKNOWN));
            Map<Integer, List<String>> byPort = new HashMap<>();
            Set<Integer> seen = new HashSet<>();
            for (MeshService s : mine) {
                for (MeshService.IngressPort i : s.ingress()) {
                    if (seen.add(i.port())) {
                        List<String> ids = requiredPolicies(mine, i.port());
                        if (!ids.isEmpty()) {
                            byPort.put(i.port(), ids);
                        }
                    }
                }
            }
            if (!byPort.isEmpty()) {
                out.put(node, Map.copyOf(byPort));
            }
        }
        return Map.copyOf(out);
    }

    /** The union of {@code nodeServices}' policies on ingress {@code port}, in config order. */
    private static List<String> requiredPolicies(List<MeshService> nodeServices, int port) {
        Set<String> out = new LinkedHashSet<>();
        for (MeshService s : nodeServices) {
            s.ingressOn(port).ifPresent(i -> out.addAll(i.policies()));
        }
        return List.copyOf(out);
    }
}
