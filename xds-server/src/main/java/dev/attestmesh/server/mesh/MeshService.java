package dev.attestmesh.server.mesh;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One service of the mesh: which nodes run it, the ports it accepts connections on (ingress) and the
 * local ports through which it calls other services (egress), in the spirit of TNG's {@code add_ingress}
 * / {@code add_egress}. Instances are validated by {@link MeshConfigParser}; they are immutable.
 *
 * @param name unique service name (a DNS label); also the SNI and, for proxyless gRPC, the target
 *     authority ({@code xds:///<name>})
 * @param members which nodes belong to the service
 * @param mutual when true (the default) both ends attest and verify: the ingress requires a client
 *     certificate and checks it with ext_authz; when false only the server side attests
 * @param proxyless when true the service's nodes are proxyless gRPC applications (gRPC-java xDS) rather
 *     than Envoy: resources are generated in the shape gRPC consumes, with certificates from the
 *     {@code file_watcher} certificate provider instead of SDS
 * @param addresses node id to the IP address other nodes reach it on, used when the node's own
 *     metadata does not carry {@value MeshConfig#ADDRESS_METADATA_KEY}
 */
public record MeshService(String name, Membership members, boolean mutual, boolean proxyless,
        Map<String, String> addresses, List<IngressPort> ingress, List<EgressPort> egress) {

    public MeshService {
        addresses = Map.copyOf(addresses);
        ingress = List.copyOf(ingress);
        egress = List.copyOf(egress);
    }

    /** The ingress port listening on {@code port}, if any. */
    public Optional<IngressPort> ingressOn(int port) {
        return ingress.stream().filter(i -> i.port() == port).findFirst();
    }

    /**
     * Which nodes belong to a service. Membership is decided by what attestation proved, never by what
     * a proxy says about itself alone: a node must be selected by an identity selector (its node id is
     * listed, its attested SPIFFE ID is listed, or the registration that granted it is listed), and
     * when {@code cluster} or {@code metadata} are given the node's Envoy node cluster / metadata must
     * also match them (they narrow, they never admit).
     */
    public record Membership(Set<String> nodeIds, Set<String> spiffeIds, Set<String> registrations,
            Optional<String> cluster, Map<String, String> metadata) {
        public Membership {
            nodeIds = Set.copyOf(nodeIds);
            spiffeIds = Set.copyOf(spiffeIds);
            registrations = Set.copyOf(registrations);
            metadata = Map.copyOf(metadata);
            if (cluster.isPresent() && cluster.get().isEmpty()) {
                throw new IllegalArgumentException("membership cluster selector must not be empty; omit it instead");
            }
            if (nodeIds.isEmpty() && spiffeIds.isEmpty() && registrations.isEmpty()) {
                throw new IllegalArgumentException("membership needs nodes, spiffeIds or registrations");
            }
        }

        /** Whether the node with {@code nodeId}, proven {@code attested} and presenting {@code presented}, belongs. */
        public boolean matches(String nodeId, AttestedNodeIdentity attested, EnvoyNodeIdentity presented) {
            boolean selected = nodeIds.contains(nodeId)
                    || (!attested.spiffeId().isEmpty() && spiffeIds.contains(attested.spiffeId()))
                    || (!attested.registration().isEmpty() && registrations.contains(attested.registration()));
            if (!selected) {
                return false;
            }
            if (cluster.isPresent() && !cluster.get().equals(presented.cluster())) {
                return false;
            }
            return metadata.entrySet().stream().allMatch(e -> e.getValue().equals(presented.metadata().get(e.getKey())));
        }
    }

    /** Application protocol of an ingress port. */
    public enum Protocol {
        /** Any TCP stream: one ext_authz check per connection, then a TCP proxy. */
        TCP,
        /** HTTP/1.1 or HTTP/2: ext_authz per connection and per request, HTTP routing to the app. */
        HTTP
    }

    /**
     * A port on which the service accepts mesh connections.
     *
     * @param port the port Envoy (or the proxyless gRPC server) listens on
     * @param appPort the local application's port on 127.0.0.1 (ignored for proxyless services, which
     *     serve on {@code port} themselves)
     * @param policies policy IDs every caller must satisfy
     */
    public record IngressPort(int port, int appPort, Protocol protocol, List<String> policies) {
        public IngressPort {
            policies = List.copyOf(policies);
        }
    }

    /**
     * A local port through which the service calls another service.
     *
     * @param port loopback port the local application connects to (unused for proxyless services,
     *     which dial {@code xds:///<service>})
     * @param service the upstream service's name
     * @param servicePort the upstream ingress port
     * @param policies policy IDs the upstream must satisfy (checked in the TLS handshake)
     */
    public record EgressPort(int port, String service, int servicePort, List<String> policies) {
        public EgressPort {
            policies = List.copyOf(policies);
        }
    }
}
