package dev.attestmesh.server.mesh;

import dev.attestmesh.server.ControlPlane;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.serde.annotation.Serdeable;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * {@code GET /api/v1/mesh/graph}: the mesh config in force as a graph, for the web console's mesh page:
 * every service with its ingress ports, and every allowed edge (an egress port of one service to an
 * ingress port of another) with the policies the connection requires of each end. Computed from the
 * same parsed {@link MeshConfig} that the xDS generator uses, so the picture is the config, not a copy.
 */
@Controller("/api/v1/mesh/graph")
@ExecuteOn(TaskExecutors.BLOCKING)
public class MeshGraphController {
    private final ControlPlane controlPlane;

    MeshGraphController(ControlPlane controlPlane) {
        this.controlPlane = controlPlane;
    }

    /** An ingress port of a service and the policies every caller must satisfy on it. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record PortView(int port, String protocol, List<String> policies) {}

    /** A service and the nodes it selects by id, SPIFFE ID or registration. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record ServiceView(String name, boolean mutual, boolean proxyless, List<PortView> ingress,
            List<String> nodeIds, List<String> spiffeIds, List<String> registrations) {}

    /**
     * An allowed connection.
     *
     * @param calleeRequires policies the callee's ingress port requires of the caller (checked by ext_authz)
     * @param callerRequires policies the caller's egress requires of the callee (checked in the TLS handshake)
     * @param known false when the egress names a service or port the config does not define (it then
     *     connects nowhere)
     */
    @Serdeable
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record EdgeView(String from, String to, int port, List<String> calleeRequires, List<String> callerRequires,
            boolean known) {}

    /** The graph of the config in force; {@code version} 0 when none was ever configured. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Graph(long version, List<ServiceView> services, List<EdgeView> edges) {}

    @Get(produces = MediaType.APPLICATION_JSON)
    public Graph graph() {
        MeshConfigRegistry.VersionedMeshConfig current = controlPlane.mesh().current();
        return of(current.version(), current.config());
    }

    static Graph of(long version, MeshConfig config) {
        List<ServiceView> services = new ArrayList<>();
        List<EdgeView> edges = new ArrayList<>();
        for (MeshService s : config.services()) {
            services.add(new ServiceView(s.name(), s.mutual(), s.proxyless(), s.ingress().stream()
                    .map(i -> new PortView(i.port(), i.protocol().name(), i.policies())).toList(),
                    sorted(s.members().nodeIds()), sorted(s.members().spiffeIds()), sorted(s.members().registrations())));
            for (MeshService.EgressPort e : s.egress()) {
                Optional<MeshService.IngressPort> target = config.services().stream()
                        .filter(t -> t.name().equals(e.service())).findFirst().flatMap(t -> t.ingressOn(e.servicePort()));
                edges.add(new EdgeView(s.name(), e.service(), e.servicePort(),
                        target.map(MeshService.IngressPort::policies).orElse(List.of()), e.policies(), target.isPresent()));
            }
        }
        return new Graph(version, services, edges);
    }

    private static List<String> sorted(Set<String> s) {
        return new ArrayList<>(new java.util.TreeSet<>(s));
    }
}
