package dev.attestmesh.server.app;

import dev.attestmesh.server.ControlPlane;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.serde.annotation.Serdeable;

/** {@code GET /health}: open to everyone, reveals nothing sensitive. */
@Controller("/health")
public class HealthController {
    private final ControlPlane controlPlane;

    HealthController(ControlPlane controlPlane) {
        this.controlPlane = controlPlane;
    }

    /** The health answer. */
    @Serdeable
    public record Health(String status, int grpcPort, int nodes, int policies) {}

    @Get(produces = MediaType.APPLICATION_JSON)
    public Health health() {
        return new Health("UP", controlPlane.grpcPort(), controlPlane.registry().entries().size(),
                controlPlane.policies().all().size());
    }
}
