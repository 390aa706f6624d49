package dev.attestmesh.server.admin;

import dev.attestmesh.registry.NodeState;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.ear.EarSigningKey;
import dev.attestmesh.server.ear.NodeEarWriter;
import dev.attestmesh.server.registry.NodeEntry;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;

/**
 * EAR out (docs/trustee.md): {@code GET /api/v1/nodes/{id}/ear} (role viewer) answers the node's latest
 * appraisal as an EAR JWT ({@code application/jwt}) signed with {@link EarSigningKey}; 404 for an unknown
 * node, 409 for one that does not hold its identity (revoked, expired, withdrawn). The key is published
 * without credentials at {@code GET /.well-known/attestmesh/ear-jwks.json}.
 */
@Controller
@ExecuteOn(TaskExecutors.BLOCKING)
public class EarController {
    static final String BUILD = "attestmesh " + Optional.ofNullable(EarController.class.getPackage()
            .getImplementationVersion()).orElse("dev");
    private final ControlPlane cp;
    private final EarSigningKey key;
    private final NodeEarWriter writer;
    private final Clock clock;

    EarController(ControlPlane cp, EarSigningKey key, Clock clock) {
        this.cp = cp;
        this.key = key;
        this.clock = clock;
        this.writer = new NodeEarWriter(key, BUILD);
    }

    @Get(uri = "/api/v1/nodes/{id}/ear", produces = "application/jwt")
    @ApiAnswer(status = 200, body = String.class, description = "the node's appraisal as an EAR (a JWT signed with the "
            + "key at /.well-known/attestmesh/ear-jwks.json)")
    @ApiAnswer(status = 404, description = "no node has this id")
    @ApiAnswer(status = 409, description = "the node is not attested: it has no current appraisal")
    public HttpResponse<?> ear(@PathVariable String id) {
        Optional<NodeEntry> e = cp.registry().entry(id);
        if (e.isEmpty()) {
            return HttpResponse.notFound(ApiError.of("no node '" + NodesController.printable(id)
                    + "' is registered; list nodes with GET /api/v1/nodes")).contentType(MediaType.APPLICATION_JSON_TYPE);
        }
        NodeEntry n = e.get();
        if (n.state() != NodeState.ATTESTED) {
            return HttpResponse.status(HttpStatus.CONFLICT).body(ApiError.of("node '" + NodesController.printable(id)
                    + "' is " + n.state() + " (" + NodesController.printable(n.stateReason())
                    + "): it has no current appraisal to report")).contentType(MediaType.APPLICATION_JSON_TYPE);
        }
        return HttpResponse.ok(writer.token(n, clock.instant())).contentType("application/jwt");
    }

    /** The EAR signing key as a JWK set (public; no credentials needed). */
    @Get(uri = "/.well-known/attestmesh/ear-jwks.json", produces = MediaType.APPLICATION_JSON)
    public Map<String, Object> jwks() {
        return key.publicJwks().toJSONObject(true);
    }
}
