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
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/**
 * {@code /api/v1/mesh}: the mesh config. {@code GET} returns the config in force with its version;
 * {@code PUT} replaces it with the YAML (or JSON) document in the body, which is validated as a whole
 * against the current policies: {@code 200} with the version now in force, or {@code 400} listing every
 * problem (nothing changes). Authentication is applied by the global {@code /api/**} filter.
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

    /** A rejected document. */
    @Serdeable
    public record MeshConfigRejection(String error, List<String> problems) {}

    @Get(produces = MediaType.APPLICATION_JSON)
    public MeshConfigView get() {
        return MeshConfigView.of(controlPlane.mesh().current());
    }

    @Put(consumes = {"application/yaml", "application/x-yaml", MediaType.TEXT_PLAIN, MediaType.APPLICATION_JSON},
            produces = MediaType.APPLICATION_JSON)
    public HttpResponse<?> put(@Body String document) {
        try {
            return HttpResponse.ok(MeshConfigView.of(controlPlane.mesh().replace(document)));
        } catch (MeshConfigException e) {
            return HttpResponse.badRequest(new MeshConfigRejection(
                    "mesh config rejected; nothing was changed. Fix every problem and apply again.", e.problems()));
        } catch (MeshConfigRegistry.ConcurrentChangeException e) {
            return HttpResponse.status(HttpStatus.CONFLICT).body(new MeshConfigRejection(e.getMessage(), List.of()));
        }
    }
}
