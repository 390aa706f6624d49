package dev.attestmesh.server.admin;

import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/**
 * The body of every admin API error: a one-line summary and, where there are several, every problem.
 *
 * @param error what went wrong and what to do
 * @param problems each problem found (e.g. every validation failure of a policy document); may be empty
 */
@Serdeable
public record ApiError(String error, List<String> problems) {
    public ApiError {
        problems = List.copyOf(problems);
    }

    public static ApiError of(String error) {
        return new ApiError(error, List.of());
    }
}
