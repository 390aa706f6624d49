package dev.attestmesh.server.admin;

import dev.attestmesh.input.UntrustedText;
import io.micronaut.context.annotation.Replaces;
import io.micronaut.http.HttpMethod;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.server.exceptions.response.Error;
import io.micronaut.http.server.exceptions.response.ErrorContext;
import io.micronaut.http.server.exceptions.response.ErrorResponseProcessor;
import jakarta.inject.Singleton;
import java.util.List;

/**
 * Gives the errors the framework answers itself (no route: 404, wrong method: 405, unreadable body: 400,
 * unsupported media type: 415, ...) the admin API's one error body, {@link ApiError}, as JSON, on every
 * path of the admin port (the API, {@code /.well-known/}, {@code /health}), instead of Micronaut's own
 * JSON or HTML error pages. The request path is caller text: it is cut and made printable before it is
 * echoed.
 */
@Singleton
@Replaces(ErrorResponseProcessor.class)
public class ApiErrorResponseProcessor implements ErrorResponseProcessor<ApiError> {
    private static final int MAX_PATH_CHARS = 200;

    @Override
    @SuppressWarnings("unchecked")
    public MutableHttpResponse<ApiError> processResponse(ErrorContext context, MutableHttpResponse<?> response) {
        HttpRequest<?> request = context.getRequest();
        if (request.getMethod() == HttpMethod.HEAD) {
            return (MutableHttpResponse<ApiError>) response; // no body on HEAD
        }
        String where = request.getMethodName() + " " + UntrustedText.forLog(request.getPath(), MAX_PATH_CHARS);
        int status = response.code();
        String error = switch (status) {
            case 404 -> "no such resource: " + where + "; the admin API's routes are listed in GET /openapi.yaml";
            case 405 -> "method not allowed: " + where + allowed(response) + "; see GET /openapi.yaml";
            case 413 -> "request body too large: the admin API accepts at most " + AdminErrorHandlers.LIMIT
                    + " per request";
            case 415 -> "unsupported content type for " + where + "; see GET /openapi.yaml for what each route accepts";
            default -> status >= 500 ? "internal error answering " + where + " (the control plane log has the cause)"
                    : "request refused (" + status + "): " + where;
        };
        // Framework messages for client errors name what was wrong with the input (a missing parameter,
        // unreadable JSON); they may quote caller text, so each is cut and made printable.
        List<String> problems = status >= 500 || status == 404 || status == 405 ? List.of()
                : context.getErrors().stream().map(Error::getMessage).map(m -> UntrustedText.forLog(m, MAX_PATH_CHARS))
                        .limit(20).toList();
        return ((MutableHttpResponse<ApiError>) response).body(new ApiError(error, problems))
                .contentType(MediaType.APPLICATION_JSON_TYPE);
    }

    private static String allowed(MutableHttpResponse<?> response) {
        return response.getHeaders().get("Allow") == null ? "" : " (allowed: "
                + UntrustedText.forLog(response.getHeaders().get("Allow"), 100) + ")";
    }
}
