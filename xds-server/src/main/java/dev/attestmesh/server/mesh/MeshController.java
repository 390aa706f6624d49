package dev.attestmesh.server.mesh;

import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.mesh.MeshConfigRegistry.VersionedMeshConfig;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Put;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.core.annotation.Nullable;
import dev.attestmesh.server.admin.ApiAnswer;
import dev.attestmesh.server.admin.ApiError;
import dev.attestmesh.server.admin.DryRunResult;
import dev.attestmesh.server.store.DocumentSetDiff;
import java.util.ArrayList;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/**
 * {@code /api/v1/mesh}: the mesh config. {@code GET} returns the config in force with its version;
 * {@code PUT} replaces it with the YAML (or JSON) document in the body, which is validated as a whole
 * against the current policies: {@code 200} with the version now in force, or {@code 400} listing every
 * problem (nothing changes). With {@code ?dryRun=true} the document is validated the same way and the
 * answer ({@link DryRunResult}) holds the document before and after, each service added, changed or removed,
 * and each node whose services or required policies would change; nothing is stored. Errors have the
 * admin API's one error shape ({@link ApiError}). Authentication is applied by the global {@code /api/**} filter.
 */
@Controller("/api/v1/mesh")
public class MeshController {
    private final ControlPlane controlPlane;

    MeshController(ControlPlane controlPlane) {
        this.controlPlane = controlPlane;
    }

    /** The config in force. {@code version} 0 means none was ever configured. */
    @Serdeable
    public record MeshConfigView(long version, String sha256, String updatedAt, int services, String document) {
        static MeshConfigView of(VersionedMeshConfig v) {
            return new MeshConfigView(v.version(), v.sha256(), v.updatedAt().toString(), v.config().services().size(),
                    v.document());
        }
    }

    @Get(produces = MediaType.APPLICATION_JSON)
    public MeshConfigView get() {
        return MeshConfigView.of(controlPlane.mesh().current());
    }

    @Put(consumes = {"application/yaml", "application/x-yaml", MediaType.TEXT_PLAIN, MediaType.APPLICATION_JSON},
            produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = MeshConfigView.class, description = "the config now in force")
    @ApiAnswer(status = 200, body = DryRunResult.class, description = "with dryRun=true: what would change")
    @ApiAnswer(status = 400, description = "invalid config, every problem listed; nothing changed")
    @ApiAnswer(status = 409, description = "other replicas kept changing the config; apply again")
    public HttpResponse<?> put(@Body String document, @Nullable @QueryValue Boolean dryRun) {
        try {
            if (Boolean.TRUE.equals(dryRun)) {
                return HttpResponse.ok(preview(controlPlane.mesh().preview(document), document));
            }
            return HttpResponse.ok(MeshConfigView.of(controlPlane.mesh().replace(document)));
        } catch (MeshConfigException e) {
            return HttpResponse.badRequest(new ApiError(
                    "mesh config rejected; nothing was changed. Fix every problem and apply again.", e.problems()));
        } catch (MeshConfigRegistry.ConcurrentChangeException e) {
            return HttpResponse.status(HttpStatus.CONFLICT).body(ApiError.of(e.getMessage()));
        }
    }

    private static DryRunResult preview(MeshConfigRegistry.Preview p, String document) {
        List<DryRunResult.ObjectChange> changes = new ArrayList<>();
        changes.add(new DryRunResult.ObjectChange("mesh", p.unchanged() ? "unchanged"
                : p.current().version() == 0 ? "created" : "updated",
                p.current().version() == 0 ? null : p.current().document(), document));
        for (DocumentSetDiff.Entry e : p.services().added()) {
            changes.add(new DryRunResult.ObjectChange("service " + e.id(), "created", null, null));
        }
        for (DocumentSetDiff.Entry e : p.services().changed()) {
            changes.add(new DryRunResult.ObjectChange("service " + e.id(), "updated", null, null));
        }
        for (DocumentSetDiff.Entry e : p.services().removed()) {
            changes.add(new DryRunResult.ObjectChange("service " + e.id(), "deleted", null, null));
        }
        return DryRunResult.of(changes, p.nodeChanges().entrySet().stream().map(e ->
                DryRunResult.AffectedNode.simple(e.getKey(), "mesh-change", e.getValue())).toList());
    }
}
