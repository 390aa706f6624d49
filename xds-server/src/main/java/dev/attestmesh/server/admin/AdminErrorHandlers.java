package dev.attestmesh.server.admin;

import io.micronaut.context.annotation.Replaces;
import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.exceptions.ContentLengthExceededException;
import io.micronaut.http.server.exceptions.ContentLengthExceededHandler;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import jakarta.inject.Singleton;

/**
 * Answers a request body over {@code micronaut.server.max-request-size} (1 MiB) with 400 and the limit,
 * in the admin API's error shape.
 */
@Produces
@Singleton
@Requires(classes = {ContentLengthExceededException.class, ExceptionHandler.class})
@Replaces(ContentLengthExceededHandler.class)
public class AdminErrorHandlers implements ExceptionHandler<ContentLengthExceededException, HttpResponse<ApiError>> {
    @Override
    public HttpResponse<ApiError> handle(HttpRequest request, ContentLengthExceededException exception) {
        return HttpResponse.badRequest(ApiError.of("request body too large: " + exception.getMessage()
                + "; the admin API accepts at most 1 MiB"));
    }
}
