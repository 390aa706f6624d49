package dev.attestmesh.server.admin;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.attestmesh.input.UntrustedText;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.revocation.RevocationKind;
import dev.attestmesh.server.revocation.RevocationRule;
import dev.attestmesh.server.revocation.Revocations;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/**
 * {@code /api/v1/revocations}: revocation rules by node, measurement, policy, TCB status or advisory.
 * Adding a rule revokes every matching node at once and refuses matching attestations; deleting it lifts
 * the revocations it made (those nodes must attest again). With {@code ?dryRun=true} the rule is validated
 * the same way and the answer lists the nodes it would revoke (or lift); nothing is stored.
 */
@Controller("/api/v1/revocations")
@ExecuteOn(TaskExecutors.BLOCKING)
public class RevocationsController {
    private final ControlPlane cp;

    RevocationsController(ControlPlane cp) {
        this.cp = cp;
    }

    /**
     * A new rule.
     *
     * @param kind {@code node}, {@code measurement}, {@code policy}, {@code tcb-status}, {@code advisory},
     *     {@code registration} or {@code platform}
     * @param value node id, measurement hex, policy id, TCB status (e.g. {@code OutOfDate}) or advisory ID
     * @param reason why (shown in denials): one line of at most {@value Revocations#MAX_REASON_CHARS}
     *     printable characters
     */
    @Serdeable
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record RevocationRequest(@Nullable String kind, @Nullable String value, @Nullable String reason) {}

    /** A rule in force. */
    @Serdeable
    public record RuleView(String id, String kind, String value, String reason, String createdBy, String createdAt) {
        static RuleView of(RevocationRule r) {
            return new RuleView(r.id(), r.kind().wireName(), r.value(), r.reason(), r.createdBy(), r.createdAt().toString());
        }
    }

    /** The answer to adding a rule: the rule and the nodes it revoked now. */
    @Serdeable
    public record Added(RuleView rule, List<String> revokedNodes) {}

    /** The answer to deleting a rule: the rule and the nodes whose revocation it lifted. */
    @Serdeable
    public record Removed(RuleView rule, List<String> liftedNodes) {}

    @Get(produces = MediaType.APPLICATION_JSON)
    public List<RuleView> list() {
        return cp.revocations().all().stream().map(RuleView::of).toList();
    }

    @Post(consumes = MediaType.APPLICATION_JSON, produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 201, body = Added.class, description = "the rule is in force; the nodes it revoked")
    @ApiAnswer(status = 200, body = DryRunResult.class, description = "with dryRun=true: the nodes it would revoke")
    @ApiAnswer(status = 400, description = "the rule is invalid; nothing changed")
    public HttpResponse<?> add(@Body RevocationRequest body, HttpRequest<?> request, @Nullable @QueryValue Boolean dryRun) {
        if (body.kind() == null || body.value() == null) {
            return HttpResponse.badRequest(ApiError.of("revocation rule rejected: kind and value are required, e.g. "
                    + "{\"kind\": \"node\", \"value\": \"node-1\", \"reason\": \"...\"}"));
        }
        if (Boolean.TRUE.equals(dryRun)) {
            try {
                RevocationKind kind = RevocationKind.fromWireName(body.kind());
                List<String> revoked = cp.revocations().previewAdd(kind, body.value(), body.reason() == null ? ""
                        : body.reason());
                return HttpResponse.ok(DryRunResult.of(List.of(new DryRunResult.ObjectChange("(new rule)", "created",
                        null, kind.wireName() + " " + body.value().trim())), revoked.stream().map(n ->
                        DryRunResult.AffectedNode.simple(n, "revoked", "matches the " + kind.wireName() + " rule")).toList()));
            } catch (IllegalArgumentException e) {
                return HttpResponse.badRequest(ApiError.of("revocation rule rejected: " + e.getMessage()));
            }
        }
        Revocations.Applied applied;
        try {
            RevocationKind kind = RevocationKind.fromWireName(body.kind());
            applied = cp.revocations().add(kind, body.value(), body.reason() == null ? "" : body.reason(),
                    request.getAttribute(AdminPrincipal.REQUEST_ATTRIBUTE, AdminPrincipal.class)
                            .map(AdminPrincipal::name).orElse("unknown"));
        } catch (IllegalArgumentException e) {
            return HttpResponse.badRequest(ApiError.of("revocation rule rejected: " + e.getMessage()));
        }
        return HttpResponse.status(HttpStatus.CREATED).body(new Added(RuleView.of(applied.rule()), applied.revokedNodes()));
    }

    @Delete(uri = "/{id}", produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = Removed.class, description = "the rule is gone; the nodes whose revocation it lifted")
    @ApiAnswer(status = 200, body = DryRunResult.class, description = "with dryRun=true: the nodes it would lift")
    @ApiAnswer(status = 404, description = "no rule has this id")
    public HttpResponse<?> remove(@PathVariable String id, @Nullable @QueryValue Boolean dryRun) {
        if (Boolean.TRUE.equals(dryRun)) {
            return cp.revocations().previewRemove(id).<HttpResponse<?>>map(l -> HttpResponse.ok(DryRunResult.of(
                    List.of(new DryRunResult.ObjectChange(l.rule().id(), "deleted", l.rule().kind().wireName() + " "
                            + l.rule().value(), null)), l.liftedNodes().stream().map(n -> DryRunResult.AffectedNode
                            .simple(n, "lifted", "may attest again")).toList())))
                    .orElseGet(() -> HttpResponse.notFound(ApiError.of("no revocation rule '" + UntrustedText.forLog(id)
                            + "'; list them with GET /api/v1/revocations")));
        }
        return cp.revocations().remove(id).<HttpResponse<?>>map(l -> HttpResponse.ok(new Removed(RuleView.of(l.rule()),
                l.liftedNodes()))).orElseGet(() -> HttpResponse.notFound(ApiError.of("no revocation rule '"
                + UntrustedText.forLog(id) + "'; list them with GET /api/v1/revocations")));
    }
}
