package dev.attestmesh.server.admin;

import dev.attestmesh.server.ControlPlane;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/** {@code /api/v1/nodes}: registered nodes, their attestation and xDS sync state, and config dumps. */
@Controller("/api/v1/nodes")
@ExecuteOn(TaskExecutors.BLOCKING)
public class NodesController {
    private final ControlPlane cp;
    private final XdsConfigDump dump = new XdsConfigDump();

    NodesController(ControlPlane cp) {
        this.cp = cp;
    }

    /** Every node, sorted by node id. */
    @Get(produces = MediaType.APPLICATION_JSON)
    public List<NodeViews.NodeSummary> list() {
        return cp.registry().entries().stream().sorted(Comparator.comparing(e -> e.nodeId()))
                .map(e -> NodeViews.summary(e, cp.policies(), cp.xdsSync())).toList();
    }

    /** One node with its claims, certificate chain and latest appraisal. */
    @Get(uri = "/{id}", produces = MediaType.APPLICATION_JSON)
    public HttpResponse<?> get(@PathVariable String id) {
        return cp.registry().entry(id).<HttpResponse<?>>map(e -> HttpResponse.ok(NodeViews.detail(e, cp.policies(),
                cp.xdsSync()))).orElseGet(() -> notFound(id));
    }

    /** The node's current xDS snapshot as JSON, secret material redacted. */
    @Get(uri = "/{id}/config-dump", produces = MediaType.APPLICATION_JSON)
    public HttpResponse<?> configDump(@PathVariable String id) {
        if (cp.registry().entry(id).isEmpty()) {
            return notFound(id);
        }
        Optional<Snapshot> snapshot = Optional.ofNullable(cp.xdsCache().getSnapshot(id));
        return dump.render(id, snapshot).<HttpResponse<?>>map(json -> HttpResponse.ok(json)
                        .contentType(MediaType.APPLICATION_JSON_TYPE))
                .orElseGet(() -> HttpResponse.notFound(ApiError.of("no xDS snapshot is published for node '" + id
                        + "' (a revoked or expired node has none)")));
    }

    private static HttpResponse<?> notFound(String id) {
        return HttpResponse.notFound(ApiError.of("no node '" + printable(id) + "' is registered; list nodes with GET /api/v1/nodes"));
    }

    static String printable(String s) {
        String t = s.length() > 128 ? s.substring(0, 128) + "..." : s;
        return t.replaceAll("\\p{Cntrl}", "?");
    }
}
