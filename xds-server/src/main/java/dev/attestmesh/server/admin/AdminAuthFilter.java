package dev.attestmesh.server.admin;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpMethod;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.web.router.RouteAttributes;
import io.micronaut.web.router.RouteInfo;
import java.util.Optional;

/**
 * Authenticates and authorises every request to {@code /api/**}, {@code /metrics} and
 * {@code /openapi.yaml}, including routes that other modules add later under {@code /api}. A caller
 * presents {@code Authorization: Bearer <token>} or, when the admin port serves TLS, a client
 * certificate whose SPIFFE ID is listed in {@code attestmesh.admin.cert-identities}.
 *
 * <p>Answers 401 (with {@code WWW-Authenticate: Bearer}) without valid credentials, 403 when the role is
 * too low. The role a route needs is its {@link RequiresRole}; without one, GET and HEAD need viewer and
 * other methods need operator. {@code /health} is not covered and stays open.
 */
@ServerFilter(patterns = {"/api/**", "/metrics", "/openapi.yaml"})
public final class AdminAuthFilter {
    private final AdminTokens tokens;
    private final AdminCertificateIdentities certificates;

    AdminAuthFilter(AdminTokens tokens, AdminCertificateIdentities certificates) {
        this.tokens = tokens;
        this.certificates = certificates;
    }

    @RequestFilter
    @ExecuteOn(TaskExecutors.BLOCKING)
    @Nullable
    public HttpResponse<?> authorise(HttpRequest<?> request) {
        Optional<AdminPrincipal> principal = authenticate(request);
        if (principal.isEmpty()) {
            MutableHttpResponse<ApiError> r = HttpResponse.<ApiError>status(HttpStatus.UNAUTHORIZED).body(ApiError.of(
                    "authentication required: send 'Authorization: Bearer <token>' with an admin API token "
                    + "(see docs/operator-guide.md), or a listed client certificate"));
            return r.header("WWW-Authenticate", "Bearer realm=\"attestmesh\"");
        }
        AdminRole required = requiredRole(request);
        if (!principal.get().role().includes(required)) {
            return HttpResponse.status(HttpStatus.FORBIDDEN).body(ApiError.of("'" + principal.get().name() + "' has role "
                    + principal.get().role().name().toLowerCase() + "; " + request.getMethodName() + " "
                    + dev.attestmesh.input.UntrustedText.forLog(request.getPath(), 200)
                    + " needs role " + required.name().toLowerCase()));
        }
        request.setAttribute(AdminPrincipal.REQUEST_ATTRIBUTE, principal.get());
        return null; // proceed
    }

    private Optional<AdminPrincipal> authenticate(HttpRequest<?> request) {
        Optional<String> header = request.getHeaders().getAuthorization();
        if (header.isPresent()) {
            String h = header.get().trim();
            // A malformed or unknown bearer token is refused even if a certificate is also presented.
            return h.regionMatches(true, 0, "Bearer ", 0, 7) ? tokens.authenticate(h.substring(7).trim())
                    : Optional.empty();
        }
        return request.getCertificate().flatMap(certificates::authenticate);
    }

    static AdminRole requiredRole(HttpRequest<?> request) {
        Optional<RouteInfo<?>> route = RouteAttributes.getRouteInfo(request);
        if (route.isPresent()) {
            Optional<AdminRole> declared = route.get().getAnnotationMetadata().enumValue(RequiresRole.class, AdminRole.class);
            if (declared.isPresent()) {
                return declared.get();
            }
        }
        HttpMethod m = request.getMethod();
        return m == HttpMethod.GET || m == HttpMethod.HEAD ? AdminRole.VIEWER : AdminRole.OPERATOR;
    }
}
