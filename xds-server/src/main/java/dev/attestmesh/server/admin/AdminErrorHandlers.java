package dev.attestmesh.server.admin;

import io.micronaut.context.annotation.Replaces;
import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.exceptions.ContentLengthExceededException;
import io.micronaut.http.server.exceptions.ContentLengthExceededHandler;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import jakarta.inject.Singleton;

/**
 * Answers a request body over {@code micronaut.server.max-request-size} (1 MiB) with 413 and the limit, in
 * the admin API's error shape, whether the client declared the length up front or streamed the body.
 */
@Produces
@Singleton
@Requires(classes = {ContentLengthExceededException.class, ExceptionHandler.class})
@Replaces(ContentLengthExceededHandler.class)
public class AdminErrorHandlers implements ExceptionHandler<ContentLengthExceededException, HttpResponse<ApiError>> {
    /** The limit as operators configure it, for the message. */
    static final String LIMIT = "1 MiB";

    @Override
    public HttpResponse<ApiError> handle(HttpRequest request, ContentLengthExceededException exception) {
        return HttpResponse.<ApiError>status(HttpStatus.REQUEST_ENTITY_TOO_LARGE).body(ApiError.of(
                "request body too large: the admin API accepts at most " + LIMIT + " per request"));
    }
}
