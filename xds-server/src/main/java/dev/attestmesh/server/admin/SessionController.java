package dev.attestmesh.server.admin;

import io.micronaut.http.HttpRequest;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.serde.annotation.Serdeable;

/**
 * {@code GET /api/v1/session}: who the caller is authenticated as and with which role. The web console
 * asks it after sign-in (or, with an admin client certificate, before any) to learn whether to show write
 * controls; the API enforces the role on every call regardless.
 */
@Controller("/api/v1/session")
public class SessionController {

    /**
     * The authenticated caller.
     *
     * @param name the token's name or the client certificate's admin name
     * @param role {@code viewer}, {@code operator} or {@code admin}
     */
    @Serdeable
    public record Session(String name, String role) {}

    @Get(produces = MediaType.APPLICATION_JSON)
    @RequiresRole(AdminRole.VIEWER)
    public Session session(HttpRequest<?> request) {
        AdminPrincipal p = request.getAttribute(AdminPrincipal.REQUEST_ATTRIBUTE, AdminPrincipal.class)
                .orElseThrow(() -> new IllegalStateException("AdminAuthFilter did not run for /api/v1/session"));
        return new Session(p.name(), p.role().name().toLowerCase(java.util.Locale.ROOT));
    }
}
