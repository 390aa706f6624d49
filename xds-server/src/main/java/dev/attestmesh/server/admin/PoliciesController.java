package dev.attestmesh.server.admin;

import dev.attestmesh.policy.Policy;
import dev.attestmesh.policy.PolicyDocuments;
import dev.attestmesh.policy.PolicyValidationException;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.policy.PolicyRegistry;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.Put;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code /api/v1/policies}: the versioned policy set. Writes take a policy document (YAML or JSON, the
 * format of docs/policy.md) and are validated completely before anything changes: an invalid document
 * is answered 400 listing every problem, and the policy set stays as it was. A changed policy gets the
 * next version, and every node is re-appraised against it at once. With {@code ?dryRun=true} a write is
 * validated the same way and answered with what it would change ({@link DryRunResult}: each policy's
 * document before and after, and each attested node that would gain or lose a policy or its identity);
 * nothing is stored.
 */
@Controller("/api/v1/policies")
@ExecuteOn(TaskExecutors.BLOCKING)
public class PoliciesController {
    private static final Object WRITE_LOCK = new Object();

    private final ControlPlane cp;

    PoliciesController(ControlPlane cp) {
        this.cp = cp;
    }

    /**
     * A policy with its current version.
     *
     * @param document the policy alone as a canonical YAML policy document
     */
    @Serdeable
    public record PolicyView(String id, long version, List<String> tees, String document) {}

    /** What a write did to one policy: {@code created}, {@code updated} or {@code unchanged}. */
    @Serdeable
    public record PolicyChange(String id, long version, String change) {}

    @Get(produces = MediaType.APPLICATION_JSON)
    public List<PolicyView> list() {
        return cp.policies().all().stream().map(PoliciesController::view).toList();
    }

    @Get(uri = "/{id}", produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = PolicyView.class, description = "the policy")
    @ApiAnswer(status = 404, description = "no policy has this id")
    public HttpResponse<?> get(@PathVariable String id) {
        return cp.policies().get(id).<HttpResponse<?>>map(p -> HttpResponse.ok(view(p)))
                .orElseGet(() -> HttpResponse.notFound(ApiError.of("no policy '" + NodesController.printable(id) + "'")));
    }

    /** Applies a document: each policy in it is created or replaced; policies not in it are kept. */
    @Post(consumes = {"application/yaml", "application/x-yaml", "text/yaml", MediaType.TEXT_PLAIN,
            MediaType.APPLICATION_JSON}, produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = PolicyChange.class, array = true, description = "applied: what changed per policy")
    @ApiAnswer(status = 200, body = DryRunResult.class, description = "with dryRun=true: what would change")
    @ApiAnswer(status = 400, description = "invalid document, every problem listed; nothing changed")
    public HttpResponse<?> apply(@Body String document, @Nullable @QueryValue Boolean dryRun) {
        List<Policy> incoming;
        try {
            incoming = PolicyDocuments.parse(document, "admin API request");
        } catch (PolicyValidationException e) {
            return invalid(e);
        }
        if (Boolean.TRUE.equals(dryRun)) {
            return preview(incoming, List.of());
        }
        try {
            return HttpResponse.ok(write(incoming, List.of()));
        } catch (PolicyValidationException e) {
            return invalid(e);
        } catch (IllegalArgumentException e) {
            return HttpResponse.badRequest(ApiError.of(e.getMessage()));
        }
    }

    /** Creates or replaces one policy; the document must hold exactly that policy. */
    @Put(uri = "/{id}", consumes = {"application/yaml", "application/x-yaml", "text/yaml", MediaType.TEXT_PLAIN,
            MediaType.APPLICATION_JSON}, produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = PolicyChange.class, description = "applied: what changed")
    @ApiAnswer(status = 200, body = DryRunResult.class, description = "with dryRun=true: what would change")
    @ApiAnswer(status = 400, description = "invalid document or not exactly this policy; nothing changed")
    public HttpResponse<?> put(@PathVariable String id, @Body String document, @Nullable @QueryValue Boolean dryRun) {
        List<Policy> incoming;
        try {
            incoming = PolicyDocuments.parse(document, "admin API request");
        } catch (PolicyValidationException e) {
            return invalid(e);
        }
        if (incoming.size() != 1 || !incoming.getFirst().id().equals(id)) {
            return HttpResponse.badRequest(new ApiError("the document must hold exactly one policy, with id '"
                    + NodesController.printable(id) + "' as in the URL", incoming.stream()
                    .map(p -> "document holds policy '" + p.id() + "'").toList()));
        }
        if (Boolean.TRUE.equals(dryRun)) {
            return preview(incoming, List.of());
        }
        try {
            return HttpResponse.ok(write(incoming, List.of()).getFirst());
        } catch (PolicyValidationException e) {
            return invalid(e);
        } catch (IllegalArgumentException e) {
            return HttpResponse.badRequest(ApiError.of(e.getMessage()));
        }
    }

    /** Removes a policy; nodes holding it stop satisfying it at once. */
    @Delete(uri = "/{id}", produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 204, body = Void.class, description = "deleted")
    @ApiAnswer(status = 200, body = DryRunResult.class, description = "with dryRun=true: what would change")
    @ApiAnswer(status = 400, description = "the remaining set would be invalid; nothing changed")
    @ApiAnswer(status = 404, description = "no policy has this id")
    public HttpResponse<?> delete(@PathVariable String id, @Nullable @QueryValue Boolean dryRun) {
        synchronized (WRITE_LOCK) {
            if (cp.policies().get(id).isEmpty()) {
                return HttpResponse.notFound(ApiError.of("no policy '" + NodesController.printable(id) + "'"));
            }
            if (Boolean.TRUE.equals(dryRun)) {
                return preview(List.of(), List.of(id));
            }
            try {
                write(List.of(), List.of(id));
            } catch (PolicyValidationException e) {
                return invalid(e); // the remaining set breaks a rule that tightened since it was stored
            }
            return HttpResponse.status(HttpStatus.NO_CONTENT);
        }
    }

    /** @throws IllegalArgumentException when the set would exceed {@link PolicyRegistry#MAX_POLICIES} */
    private List<PolicyChange> write(List<Policy> upserts, List<String> deletions) throws PolicyValidationException {
        synchronized (WRITE_LOCK) {
            Map<String, Policy> before = new LinkedHashMap<>();
            cp.policies().all().forEach(p -> before.put(p.id(), p));
            Map<String, Policy> next = new LinkedHashMap<>(before);
            deletions.forEach(next::remove);
            upserts.forEach(p -> next.put(p.id(), p));
            cp.policies().replace(new ArrayList<>(next.values()));
            List<PolicyChange> out = new ArrayList<>();
            for (Policy p : upserts) {
                long version = cp.policies().version(p.id()).orElseThrow();
                Policy old = before.get(p.id());
                out.add(new PolicyChange(p.id(), version, old == null ? "created"
                        : old.version() == version ? "unchanged" : "updated"));
            }
            return out;
        }
    }

    /**
     * The dry run of a write: the set it would produce is checked as {@link PolicyRegistry#replace} checks
     * it, and every attested node is re-appraised against it by the registry's own rule; nothing is stored.
     */
    private HttpResponse<?> preview(List<Policy> upserts, List<String> deletions) {
        Map<String, Policy> before = new LinkedHashMap<>();
        cp.policies().all().forEach(p -> before.put(p.id(), p));
        Map<String, Policy> next = new LinkedHashMap<>(before);
        deletions.forEach(next::remove);
        List<DryRunResult.ObjectChange> changes = new ArrayList<>();
        for (Policy p : upserts) {
            Policy old = before.get(p.id());
            boolean same = old != null && old.withVersion(1).equals(p.withVersion(1));
            Policy would = p.withVersion(old == null ? 1 : same ? old.version() : old.version() + 1);
            next.put(p.id(), would);
            changes.add(new DryRunResult.ObjectChange(p.id(), old == null ? "created" : same ? "unchanged" : "updated",
                    old == null ? null : PolicyDocuments.toYaml(List.of(old)), PolicyDocuments.toYaml(List.of(would))));
        }
        for (String id : deletions) {
            changes.add(new DryRunResult.ObjectChange(id, "deleted", PolicyDocuments.toYaml(List.of(before.get(id))), null));
        }
        List<String> problems = cp.policies().problems(next.values());
        if (!problems.isEmpty()) {
            return invalid(new PolicyValidationException("policy set", problems));
        }
        return HttpResponse.ok(DryRunResult.of(changes, cp.registry().preview(next.values(), cp.registrations().all())
                .stream().map(DryRunResult.AffectedNode::of).toList()));
    }

    private static HttpResponse<?> invalid(PolicyValidationException e) {
        return HttpResponse.badRequest(new ApiError("the policy document is invalid (" + e.problems().size()
                + " problem(s)); nothing was changed", e.problems()));
    }

    private static PolicyView view(Policy p) {
        return new PolicyView(p.id(), p.version(), p.tees().stream().map(t -> t.wireName()).sorted().toList(),
                PolicyDocuments.toYaml(List.of(p)));
    }
}
