package dev.attestmesh.server.admin;

import dev.attestmesh.identity.Registration;
import dev.attestmesh.identity.RegistrationDocuments;
import dev.attestmesh.identity.RegistrationValidationException;
import dev.attestmesh.server.ControlPlane;
import io.micronaut.core.annotation.Nullable;
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
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code /api/v1/registrations}: the versioned registration set, which decides the SPIFFE ID an attested
 * node may earn (DESIGN.md section 5a). Writes take a registration document (YAML or JSON, the format of
 * {@link RegistrationDocuments}) and are validated as a whole before anything changes: the document's
 * own problems, then the set it would produce (policies that exist, one registration per SPIFFE ID, the
 * size limit). An invalid write is answered 400 listing every problem, and the set stays as it was. After
 * a change every attested node's identity is re-checked at once; a node whose registration no longer
 * holds loses its identity (state {@code EXPIRED}) until it attests again.
 *
 * <p>With {@code ?dryRun=true} a write is validated the same way and answered with what it would change
 * ({@link DryRunResult}: each registration's document before and after, and each attested node that would
 * lose its identity); nothing is stored.
 *
 * <p>Viewers read; operators write (the same roles as {@link PoliciesController}).
 */
@Controller("/api/v1/registrations")
@ExecuteOn(TaskExecutors.BLOCKING)
public class RegistrationsController {
    private static final Object WRITE_LOCK = new Object();
    private static final String SOURCE = "admin API request";

    private final ControlPlane cp;

    RegistrationsController(ControlPlane cp) {
        this.cp = cp;
    }

    /** The Kubernetes selector: the service account a workload must prove with its token. */
    @Serdeable
    public record KubernetesSelectorView(String namespace, String serviceAccount) {}

    /**
     * The selectors of a registration; a selector that is not set is null.
     *
     * @param nodeId the node-id glob
     */
    @Serdeable
    public record SelectorsView(@Nullable KubernetesSelectorView kubernetes, @Nullable String nodeId) {}

    /**
     * A registration with its current version.
     *
     * @param spiffeId the SPIFFE ID granted (may hold the {@code {nodeId}} placeholder)
     * @param maxInstances live nodes that may hold the identity at once; null when unlimited
     * @param document the registration alone as a canonical YAML registration document
     */
    @Serdeable
    public record RegistrationView(String id, long version, String spiffeId, List<String> policies,
            SelectorsView selectors, @Nullable Integer maxInstances, String document) {}

    /** What a write did to one registration: {@code created}, {@code updated} or {@code unchanged}. */
    @Serdeable
    public record RegistrationChange(String id, long version, String change) {}

    @Get(produces = MediaType.APPLICATION_JSON)
    public List<RegistrationView> list() {
        return cp.registrations().all().stream().sorted(Comparator.comparing(Registration::id))
                .map(RegistrationsController::view).toList();
    }

    @Get(uri = "/{id}", produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = RegistrationView.class, description = "the registration")
    @ApiAnswer(status = 404, description = "no registration has this id")
    public HttpResponse<?> get(@PathVariable String id) {
        return cp.registrations().get(id).<HttpResponse<?>>map(r -> HttpResponse.ok(view(r)))
                .orElseGet(() -> notFound(id));
    }

    /** Applies a document: each registration in it is created or replaced; registrations not in it are kept. */
    @Post(consumes = {"application/yaml", "application/x-yaml", "text/yaml", MediaType.TEXT_PLAIN,
            MediaType.APPLICATION_JSON}, produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = RegistrationChange.class, array = true, description = "applied: what changed")
    @ApiAnswer(status = 200, body = DryRunResult.class, description = "with dryRun=true: what would change")
    @ApiAnswer(status = 400, description = "invalid document or set, every problem listed; nothing changed")
    public HttpResponse<?> apply(@Body String document, @Nullable @QueryValue Boolean dryRun) {
        List<Registration> incoming;
        try {
            incoming = RegistrationDocuments.parse(document, SOURCE, cp.registrations().trustDomain());
        } catch (RegistrationValidationException e) {
            return invalid(e.problems());
        }
        if (Boolean.TRUE.equals(dryRun)) {
            return preview(incoming, List.of());
        }
        Outcome o = write(incoming, List.of());
        return o.problems().isEmpty() ? HttpResponse.ok(o.changes()) : invalid(o.problems());
    }

    /** Creates or replaces one registration; the document must hold exactly that registration. */
    @Put(uri = "/{id}", consumes = {"application/yaml", "application/x-yaml", "text/yaml", MediaType.TEXT_PLAIN,
            MediaType.APPLICATION_JSON}, produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = RegistrationChange.class, description = "applied: what changed")
    @ApiAnswer(status = 200, body = DryRunResult.class, description = "with dryRun=true: what would change")
    @ApiAnswer(status = 400, description = "invalid document or set, or not exactly this registration; nothing changed")
    public HttpResponse<?> put(@PathVariable String id, @Body String document, @Nullable @QueryValue Boolean dryRun) {
        List<Registration> incoming;
        try {
            incoming = RegistrationDocuments.parse(document, SOURCE, cp.registrations().trustDomain());
        } catch (RegistrationValidationException e) {
            return invalid(e.problems());
        }
        if (incoming.size() != 1 || !incoming.getFirst().id().equals(id)) {
            return HttpResponse.badRequest(new ApiError("the document must hold exactly one registration, with id '"
                    + NodesController.printable(id) + "' as in the URL; nothing was changed", incoming.stream()
                    .map(r -> "document holds registration '" + r.id() + "'").toList()));
        }
        if (Boolean.TRUE.equals(dryRun)) {
            return preview(incoming, List.of());
        }
        Outcome o = write(incoming, List.of());
        return o.problems().isEmpty() ? HttpResponse.ok(o.changes().getFirst()) : invalid(o.problems());
    }

    /** Removes a registration; nodes holding its identity lose it at once. */
    @Delete(uri = "/{id}", produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 204, body = Void.class, description = "deleted")
    @ApiAnswer(status = 200, body = DryRunResult.class, description = "with dryRun=true: what would change")
    @ApiAnswer(status = 400, description = "the remaining set would be invalid; nothing changed")
    @ApiAnswer(status = 404, description = "no registration has this id")
    public HttpResponse<?> delete(@PathVariable String id, @Nullable @QueryValue Boolean dryRun) {
        synchronized (WRITE_LOCK) {
            if (cp.registrations().get(id).isEmpty()) {
                return notFound(id);
            }
            if (Boolean.TRUE.equals(dryRun)) {
                return preview(List.of(), List.of(id));
            }
            Outcome o = write(List.of(), List.of(id));
            return o.problems().isEmpty() ? HttpResponse.status(HttpStatus.NO_CONTENT) : invalid(o.problems());
        }
    }

    /** What a write did: one change per upsert, or every problem found (and nothing changed). */
    private record Outcome(List<RegistrationChange> changes, List<String> problems) {}

    /** Upserts and deletes in one replacement of the whole set, validated as a whole first. */
    private Outcome write(List<Registration> upserts, List<String> deletions) {
        synchronized (WRITE_LOCK) {
            Map<String, Registration> before = new LinkedHashMap<>();
            cp.registrations().all().forEach(r -> before.put(r.id(), r));
            Map<String, Registration> next = new LinkedHashMap<>(before);
            deletions.forEach(next::remove);
            upserts.forEach(r -> next.put(r.id(), r));
            List<Registration> merged = new ArrayList<>(next.values());
            List<String> problems = new ArrayList<>(setProblems(upserts, merged));
            problems.addAll(cp.registrations().crossCheck(merged));
            if (!problems.isEmpty()) {
                return new Outcome(List.of(), problems);
            }
            try {
                cp.registrations().replace(merged);
            } catch (RegistrationValidationException e) {
                return new Outcome(List.of(), e.problems()); // a policy went away since the check above
            }
            List<RegistrationChange> out = new ArrayList<>();
            for (Registration r : upserts) {
                long version = cp.registrations().get(r.id()).orElseThrow().version();
                Registration old = before.get(r.id());
                out.add(new RegistrationChange(r.id(), version, old == null ? "created"
                        : old.version() == version ? "unchanged" : "updated"));
            }
            return new Outcome(out, List.of());
        }
    }

    /**
     * The dry run of a write: the set it would produce is checked as {@link #write} checks it, and every
     * attested node's identity is re-checked against it by the registry's own rule; nothing is stored.
     */
    private HttpResponse<?> preview(List<Registration> upserts, List<String> deletions) {
        Map<String, Registration> before = new LinkedHashMap<>();
        cp.registrations().all().forEach(r -> before.put(r.id(), r));
        Map<String, Registration> next = new LinkedHashMap<>(before);
        deletions.forEach(next::remove);
        List<DryRunResult.ObjectChange> changes = new ArrayList<>();
        List<Registration> proposed = new ArrayList<>();
        for (Registration r : upserts) {
            Registration old = before.get(r.id());
            boolean same = old != null && old.sameContent(r);
            Registration would = r.withVersion(old == null ? 1 : same ? old.version() : old.version() + 1);
            next.put(r.id(), would);
            proposed.add(would);
            changes.add(new DryRunResult.ObjectChange(r.id(), old == null ? "created" : same ? "unchanged" : "updated",
                    old == null ? null : RegistrationDocuments.toYaml(List.of(old)),
                    RegistrationDocuments.toYaml(List.of(would))));
        }
        for (String id : deletions) {
            changes.add(new DryRunResult.ObjectChange(id, "deleted", RegistrationDocuments.toYaml(List.of(before.get(id))),
                    null));
        }
        List<Registration> merged = new ArrayList<>(next.values());
        List<String> problems = new ArrayList<>(setProblems(proposed, merged));
        problems.addAll(cp.registrations().crossCheck(merged));
        if (!problems.isEmpty()) {
            return invalid(problems);
        }
        return HttpResponse.ok(DryRunResult.of(changes, cp.registry().preview(cp.policies().all(), merged).stream()
                .map(DryRunResult.AffectedNode::of).toList()));
    }

    /**
     * What the document parser cannot see because it holds only part of the set: a SPIFFE ID already
     * granted by a registration the write keeps, and the size of the resulting set.
     */
    private static List<String> setProblems(List<Registration> upserts, List<Registration> merged) {
        List<String> problems = new ArrayList<>();
        for (Registration r : upserts) {
            for (Registration other : merged) {
                if (!other.id().equals(r.id()) && other.spiffeId().equals(r.spiffeId())) {
                    problems.add("registration '" + r.id() + "': " + r.spiffeId() + " is already granted by "
                            + "registration '" + other.id() + "'; one registration per SPIFFE ID (change or delete '"
                            + other.id() + "' in the same write)");
                }
            }
        }
        if (merged.size() > RegistrationDocuments.MAX_REGISTRATIONS) {
            problems.add("the registration set would hold " + merged.size() + " registrations, more than the limit of "
                    + RegistrationDocuments.MAX_REGISTRATIONS);
        }
        return problems;
    }

    private static HttpResponse<?> invalid(List<String> problems) {
        return HttpResponse.badRequest(new ApiError("the registration document is invalid (" + problems.size()
                + " problem(s)); nothing was changed", problems));
    }

    private static HttpResponse<?> notFound(String id) {
        return HttpResponse.notFound(ApiError.of("no registration '" + NodesController.printable(id)
                + "'; list them with GET /api/v1/registrations"));
    }

    private static RegistrationView view(Registration r) {
        SelectorsView selectors = new SelectorsView(r.kubernetes().map(k -> new KubernetesSelectorView(k.namespace(),
                k.serviceAccount())).orElse(null), r.nodeIdPattern().orElse(null));
        return new RegistrationView(r.id(), r.version(), r.spiffeId(), r.policies(), selectors,
                r.maxInstances().isPresent() ? r.maxInstances().getAsInt() : null,
                RegistrationDocuments.toYaml(List.of(r)));
    }
}
