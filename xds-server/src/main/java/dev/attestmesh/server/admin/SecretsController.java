package dev.attestmesh.server.admin;

import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.secrets.SecretLimits;
import dev.attestmesh.server.secrets.SecretMetadata;
import dev.attestmesh.server.secrets.SecretRule;
import dev.attestmesh.server.secrets.SecretValidationException;
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
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import java.util.Base64;
import java.util.List;

/**
 * {@code /api/v1/secrets}: operator secrets released only to attested nodes (docs/secrets.md). Values are
 * write-only: a write carries the value (base64), and no route ever returns it, in a body, an error or a log line;
 * reads show metadata (rules, imports, versions, sizes, times). Viewers read; operators write.
 */
@Controller("/api/v1/secrets")
@ExecuteOn(TaskExecutors.BLOCKING)
public class SecretsController {
    private final ControlPlane cp;

    SecretsController(ControlPlane cp) {
        this.cp = cp;
    }

    /**
     * A write: the value (base64) and the rules.
     *
     * @param allow clauses {@code registration:<id>} / {@code policy:<id>}; a node satisfying one receives it
     * @param exports clauses that may import the secret; null or empty = none
     */
    @Serdeable
    public record SecretWrite(String value, List<String> allow, @Nullable List<String> exports) {}

    /** An import: the clause ({@code registration:<id>} / {@code policy:<id>}) the secret is imported into. */
    @Serdeable
    public record SecretImport(String into) {}

    /** One stored version, without its value. */
    @Serdeable
    public record VersionView(long version, int size, String createdAt) {}

    /**
     * A secret's metadata. Never its value.
     *
     * @param effectiveRule the clauses a node may satisfy now (allow, plus the imports still exported to)
     */
    @Serdeable
    public record SecretView(String name, long currentVersion, List<String> allow, List<String> exports,
            List<String> imports, List<String> effectiveRule, List<VersionView> versions, String createdAt,
            String updatedAt) {}

    @Get(produces = MediaType.APPLICATION_JSON)
    public List<SecretView> list() {
        return cp.secrets().all().stream().map(SecretsController::view).toList();
    }

    @Get(uri = "/{name}", produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = SecretView.class, description = "the secret (metadata only, never the value)")
    @ApiAnswer(status = 404, description = "no secret has this name")
    public HttpResponse<?> get(@PathVariable String name) {
        return cp.secrets().get(name).<HttpResponse<?>>map(m -> HttpResponse.ok(view(m)))
                .orElseGet(() -> notFound(name));
    }

    /** Stores a new version (version 1 when new). Answers the metadata, never the value. */
    @Put(uri = "/{name}", consumes = MediaType.APPLICATION_JSON, produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = SecretView.class, description = "stored as the next version")
    @ApiAnswer(status = 400, description = "refused, every problem listed; nothing changed")
    public HttpResponse<?> put(@PathVariable String name, @Body SecretWrite write) {
        byte[] value;
        // base64 of the largest value, with room for padding: a longer text is refused before it is decoded
        if (write.value() == null || write.value().length() > (SecretLimits.MAX_VALUE_BYTES / 3 + 1) * 4) {
            return invalid(List.of(write.value() == null ? "value (base64) is required"
                    : "the secret value is larger than " + SecretLimits.MAX_VALUE_BYTES + " bytes (64 KiB)"));
        }
        try {
            value = Base64.getDecoder().decode(write.value());
        } catch (IllegalArgumentException e) {
            return invalid(List.of("value is not base64"));
        }
        try {
            SecretMetadata m = cp.secrets().put(name, value, write.allow() == null ? List.of() : write.allow(),
                    write.exports() == null ? List.of() : write.exports());
            return HttpResponse.ok(view(m));
        } catch (SecretValidationException e) {
            return invalid(e.problems());
        } finally {
            java.util.Arrays.fill(value, (byte) 0);
        }
    }

    /** Imports the secret into another clause, which the owner must export to. */
    @Post(uri = "/{name}/imports", consumes = MediaType.APPLICATION_JSON, produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = SecretView.class, description = "the import is in force")
    @ApiAnswer(status = 400, description = "refused; nothing changed")
    @ApiAnswer(status = 404, description = "no secret has this name")
    public HttpResponse<?> importInto(@PathVariable String name, @Body SecretImport imp) {
        if (cp.secrets().get(name).isEmpty()) {
            return notFound(name);
        }
        try {
            return HttpResponse.ok(view(cp.secrets().importInto(name, imp.into() == null ? "" : imp.into())));
        } catch (SecretValidationException e) {
            return invalid(e.problems());
        }
    }

    /** Removes an import ({@code rule} as {@code registration:<id>} or {@code policy:<id>}). */
    @Delete(uri = "/{name}/imports/{rule}", produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = SecretView.class, description = "the import is gone")
    @ApiAnswer(status = 400, description = "the rule is malformed")
    @ApiAnswer(status = 404, description = "no such secret or import")
    public HttpResponse<?> dropImport(@PathVariable String name, @PathVariable String rule) {
        SecretRule r;
        try {
            r = SecretRule.parse(rule);
        } catch (IllegalArgumentException e) {
            return invalid(List.of(e.getMessage()));
        }
        return cp.secrets().dropImport(name, r).<HttpResponse<?>>map(m -> HttpResponse.ok(view(m)))
                .orElseGet(() -> notFound(name));
    }

    /** Deletes the secret and every version; it leaves every node on the next push or renewal. */
    @Delete(uri = "/{name}", produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 204, body = Void.class, description = "deleted")
    @ApiAnswer(status = 404, description = "no secret has this name")
    public HttpResponse<?> delete(@PathVariable String name) {
        if (!SecretLimits.NAME.matcher(name).matches() || !cp.secrets().delete(name)) {
            return notFound(name);
        }
        return HttpResponse.status(HttpStatus.NO_CONTENT);
    }

    private static SecretView view(SecretMetadata m) {
        return new SecretView(m.name(), m.currentVersion(), strings(m.allow()), strings(m.exports()),
                strings(m.imports()), strings(m.effectiveRule()), m.versions().stream()
                        .map(v -> new VersionView(v.version(), v.size(), v.createdAt().toString())).toList(),
                m.createdAt().toString(), m.updatedAt().toString());
    }

    private static List<String> strings(List<SecretRule> rules) {
        return rules.stream().map(SecretRule::toString).toList();
    }

    private static HttpResponse<?> invalid(List<String> problems) {
        return HttpResponse.badRequest(new ApiError("the secret write was refused (" + problems.size()
                + " problem(s)); nothing was stored", problems));
    }

    private static HttpResponse<?> notFound(String name) {
        return HttpResponse.notFound(ApiError.of("no secret '" + NodesController.printable(name)
                + "'; list them with GET /api/v1/secrets"));
    }
}
