package dev.attestmesh.server.admin;

import dev.attestmesh.server.ControlPlane;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;

/** {@code GET /metrics}: Prometheus text exposition (viewer role). */
@Controller("/metrics")
public class MetricsController {
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
    private final ControlPlane cp;

    MetricsController(ControlPlane cp) {
        this.cp = cp;
    }

    @Get(produces = "text/plain")
    public HttpResponse<String> scrape() {
        return HttpResponse.ok(cp.meshMetrics().scrape()).contentType(PROMETHEUS_TEXT);
    }
}
