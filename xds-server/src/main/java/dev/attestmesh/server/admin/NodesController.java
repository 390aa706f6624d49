package dev.attestmesh.server.admin;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.attestmesh.input.UntrustedText;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.registry.NodeEntry;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code /api/v1/nodes}: registered nodes, their attestation and xDS sync state, config dumps, and the
 * release of a node id from the key that holds it.
 */
@Controller("/api/v1/nodes")
@ExecuteOn(TaskExecutors.BLOCKING)
public class NodesController {
    /** Longest release reason accepted, in characters. */
    static final int MAX_REASON_CHARS = 256;
    /** The serial under which a release is recorded in the issuance log (no certificate is issued). */
    static final String RELEASE_SERIAL = "release";
    /** Response header of the node list: how many nodes match the filters, over all pages. */
    public static final String TOTAL_HEADER = "X-Total-Count";
    /** Response header of the node list: the {@code offset} of the next page; absent on the last page. */
    public static final String NEXT_OFFSET_HEADER = "X-Next-Offset";
    private static final Logger LOG = LoggerFactory.getLogger(NodesController.class);

    private final ControlPlane cp;
    private final XdsConfigDump dump = new XdsConfigDump();

    NodesController(ControlPlane cp) {
        this.cp = cp;
    }

    /**
     * The nodes matching the query's filters, sorted by node id, one page of them ({@link NodeQuery}: {@code
     * state}, {@code tee}, {@code policy}, {@code registration}, {@code expiringBefore}, {@code offset}, {@code
     * limit}). The body stays a JSON array; the page is described by headers: {@value #TOTAL_HEADER} counts every
     * matching node, and {@value #NEXT_OFFSET_HEADER} is the {@code offset} of the next page, absent after the
     * last. 400 with the parameter's problem for an unknown, repeated or out-of-range parameter.
     */
    @Get(produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = NodeViews.NodeSummary.class, array = true, description = "one page of the matching "
            + "nodes by node id; X-Total-Count counts all matches, X-Next-Offset is the next page's offset")
    @ApiAnswer(status = 400, description = "an unknown, repeated or out-of-range query parameter")
    public HttpResponse<?> list(@Nullable @QueryValue String state, @Nullable @QueryValue String tee,
            @Nullable @QueryValue String policy, @Nullable @QueryValue String registration,
            @Nullable @QueryValue String expiringBefore, @Nullable @QueryValue String offset,
            @Nullable @QueryValue String limit, HttpRequest<?> request) {
        // The named parameters put the filters in the route table (and so in the OpenAPI document); the query
        // is read from the whole parameter map so that unknown and repeated parameters are refused too.
        NodeQuery q;
        try {
            q = NodeQuery.parse(request.getParameters().asMap());
        } catch (NodeQuery.InvalidQueryException e) {
            return HttpResponse.badRequest(ApiError.of("node query rejected: " + e.getMessage()));
        }
        List<NodeEntry> matching = cp.registry().entries().stream().filter(e -> q.matches(e, cp.policies()))
                .sorted(Comparator.comparing(NodeEntry::nodeId)).toList();
        int from = Math.min(q.offset(), matching.size());
        int to = Math.min(matching.size(), from + q.limit());
        List<NodeViews.NodeSummary> page = matching.subList(from, to).stream()
                .map(e -> NodeViews.summary(e, cp.policies(), cp.xdsSync())).toList();
        var response = HttpResponse.ok(page).header(TOTAL_HEADER, Integer.toString(matching.size()));
        return to < matching.size() ? response.header(NEXT_OFFSET_HEADER, Integer.toString(to)) : response;
    }

    /** One node with its claims, certificate chain and latest appraisal. */
    @Get(uri = "/{id}", produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = NodeViews.NodeDetail.class, description = "the node")
    @ApiAnswer(status = 404, description = "no node has this id")
    public HttpResponse<?> get(@PathVariable String id) {
        return cp.registry().entry(id).<HttpResponse<?>>map(e -> HttpResponse.ok(NodeViews.detail(e, cp.policies(),
                cp.xdsSync()))).orElseGet(() -> notFound(id));
    }

    /** The node's current xDS snapshot as JSON, secret material redacted. */
    @Get(uri = "/{id}/config-dump", produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = Object.class, description = "the node's xDS snapshot as JSON, secrets redacted")
    @ApiAnswer(status = 404, description = "no such node, or no snapshot")
    public HttpResponse<?> configDump(@PathVariable String id) {
        if (cp.registry().entry(id).isEmpty()) {
            return notFound(id);
        }
        Optional<Snapshot> snapshot = Optional.ofNullable(cp.xdsCache().getSnapshot(id));
        return dump.render(id, snapshot).<HttpResponse<?>>map(json -> HttpResponse.ok(json)
                        .contentType(MediaType.APPLICATION_JSON_TYPE))
                .orElseGet(() -> HttpResponse.notFound(ApiError.of("no xDS snapshot is published for node '" + printable(id)
                        + "' (a revoked or expired node has none; on PostgreSQL each replica holds the snapshots of the "
                        + "nodes with an xDS stream on it)")));
    }

    /**
     * The body of a release; optional.
     *
     * @param reason why (at most {@value #MAX_REASON_CHARS} characters, no control characters), recorded
     *     in the node's state reason
     */
    @Serdeable
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record ReleaseRequest(@Nullable String reason) {}

    /**
     * Releases the node id from the key that attested it, so another key may attest under it (e.g. after
     * the machine was replaced). The node loses its identity at once (state {@code EXPIRED}); the release
     * is recorded in the issuance log with serial {@value #RELEASE_SERIAL}. 404 for an unknown node, 409
     * for a revoked one (lift the revocation first).
     */
    @Post(uri = "/{id}/release", consumes = MediaType.APPLICATION_JSON, produces = MediaType.APPLICATION_JSON)
    @RequiresRole(AdminRole.OPERATOR)
    @ApiAnswer(status = 200, body = NodeViews.NodeDetail.class, description = "the released node")
    @ApiAnswer(status = 400, description = "bad reason")
    @ApiAnswer(status = 404, description = "no node has this id")
    @ApiAnswer(status = 409, description = "the node is revoked")
    @ApiAnswer(status = 500, description = "released, but the issuance log entry failed")
    public HttpResponse<?> release(@PathVariable String id, @Nullable @Body ReleaseRequest body, HttpRequest<?> request) {
        String reason = body == null || body.reason() == null ? "" : body.reason().strip();
        Optional<String> problem = UntrustedText.lineProblem("reason", reason, MAX_REASON_CHARS);
        if (problem.isPresent()) {
            return HttpResponse.badRequest(ApiError.of("release rejected: " + problem.get()));
        }
        String by = request.getAttribute(AdminPrincipal.REQUEST_ATTRIBUTE, AdminPrincipal.class)
                .map(AdminPrincipal::name).orElse("unknown");
        Optional<NodeEntry> released;
        try {
            released = cp.registry().release(id, "released by " + by + (reason.isEmpty() ? "" : ": " + reason));
        } catch (IllegalStateException e) {
            return HttpResponse.status(HttpStatus.CONFLICT).body(ApiError.of("node '" + printable(id) + "' is revoked; "
                    + "lift the revocation first (GET /api/v1/revocations, then DELETE the rule), then release it"));
        }
        if (released.isEmpty()) {
            return notFound(id);
        }
        NodeEntry e = released.get();
        try {
            cp.issuanceLog().append(RELEASE_SERIAL, e.nodeId(), e.spiffeId(), "", List.of(), Instant.now());
        } catch (RuntimeException ex) {
            LOG.error("node {} was released by {} but the issuance log entry could not be written", e.nodeId(), by, ex);
            return HttpResponse.serverError(ApiError.of("node '" + printable(id) + "' was released, but its issuance "
                    + "log entry could not be written (the control plane log has the cause)"));
        }
        LOG.info("node {} released by {}{}", e.nodeId(), by, reason.isEmpty() ? "" : ": " + reason);
        return HttpResponse.ok(NodeViews.detail(cp.registry().entry(id).orElse(e), cp.policies(), cp.xdsSync()));
    }

    private static HttpResponse<?> notFound(String id) {
        return HttpResponse.notFound(ApiError.of("no node '" + printable(id) + "' is registered; list nodes with GET /api/v1/nodes"));
    }

    /** Caller text (a path segment) fit for a message: {@link UntrustedText#forLog(String)}. */
    static String printable(String s) {
        return UntrustedText.forLog(s);
    }
}
