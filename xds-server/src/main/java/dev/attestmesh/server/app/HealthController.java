package dev.attestmesh.server.app;

import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.health.ReadinessProbe;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/**
 * {@code GET /health}, {@code /health/live} and {@code /health/ready}: open to everyone (probes carry no
 * token), reveal nothing sensitive.
 */
@Controller("/health")
public class HealthController {
    private final ControlPlane controlPlane;
    private final ReadinessProbe readiness;

    HealthController(ControlPlane controlPlane, ReadinessProbe readiness) {
        this.controlPlane = controlPlane;
        this.readiness = readiness;
    }

    /** The health answer. */
    @Serdeable
    public record Health(String status, int grpcPort, int nodes, int policies) {}

    /** The liveness and readiness answers; {@code reasons} is empty when UP. */
    @Serdeable
    public record Probe(String status, List<String> reasons) {}

    @Get(produces = MediaType.APPLICATION_JSON)
    public Health health() {
        return new Health("UP", controlPlane.grpcPort(), controlPlane.registry().entries().size(),
                controlPlane.policies().all().size());
    }

    /** Liveness: 200 while the process serves HTTP; asks nothing of the store, so a slow store never restarts it. */
    @Get(uri = "/live", produces = MediaType.APPLICATION_JSON)
    public Probe live() {
        return new Probe("UP", List.of());
    }

    /** Readiness: 200 when the store answers and the CA is loaded and current, else 503 with the reasons. */
    @Get(uri = "/ready", produces = MediaType.APPLICATION_JSON)
    public HttpResponse<Probe> ready() {
        ReadinessProbe.Result r = readiness.check();
        return r.ready() ? HttpResponse.ok(new Probe("UP", List.of()))
                : HttpResponse.<Probe>status(HttpStatus.SERVICE_UNAVAILABLE).body(new Probe("DOWN", r.reasons()));
    }
}
