package dev.attestmesh.server.admin;

import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.web.router.Router;

/** {@code GET /openapi.yaml}: the admin API's OpenAPI document, generated from the route table (viewer role). */
@Controller("/openapi.yaml")
public class OpenApiController {
    private final Router router;
    private volatile String document;

    OpenApiController(Router router) {
        this.router = router;
    }

    @Get(produces = "application/yaml")
    public HttpResponse<String> get() {
        String d = document;
        if (d == null) {
            // Routes are fixed once the application has started; generate once.
            String v = OpenApiController.class.getPackage().getImplementationVersion();
            d = OpenApiDocument.yaml(router.uriRoutes().toList(), v == null ? "development" : v);
            document = d;
        }
        return HttpResponse.ok(d).contentType("application/yaml");
    }
}
