package dev.attestmesh.server.admin;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/** {@code /api/v1/tokens}: admin API tokens (admin role). A new token is returned once and never again. */
@Controller("/api/v1/tokens")
@ExecuteOn(TaskExecutors.BLOCKING)
public class TokensController {
    private final AdminTokens tokens;

    TokensController(AdminTokens tokens) {
        this.tokens = tokens;
    }

    /**
     * @param name who or what holds the token: 1-128 of letters, digits, space and {@code ._@:/-}
     * @param role {@code viewer}, {@code operator} or {@code admin}
     */
    @Serdeable
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record TokenRequest(@io.micronaut.core.annotation.Nullable String name,
            @io.micronaut.core.annotation.Nullable String role) {}

    /** A token's description. */
    @Serdeable
    public record TokenView(String id, String name, String role, String createdAt) {
        static TokenView of(AdminTokens.TokenInfo t) {
            return new TokenView(t.id(), t.name(), t.role().name().toLowerCase(), t.createdAt().toString());
        }
    }

    /** A created token: {@code token} is shown only in this answer. */
    @Serdeable
    public record CreatedToken(String id, String name, String role, String token) {}

    @Get(produces = MediaType.APPLICATION_JSON)
    @RequiresRole(AdminRole.ADMIN)
    public List<TokenView> list() {
        return tokens.list().stream().map(TokenView::of).toList();
    }

    @Post(consumes = MediaType.APPLICATION_JSON, produces = MediaType.APPLICATION_JSON)
    @RequiresRole(AdminRole.ADMIN)
    @ApiAnswer(status = 201, body = CreatedToken.class, description = "the token (shown once)")
    @ApiAnswer(status = 400, description = "token not created")
    public HttpResponse<?> create(@Body TokenRequest body) {
        try {
            AdminTokens.IssuedToken t = tokens.create(body.name(), AdminRole.parse(body.role()));
            return HttpResponse.status(HttpStatus.CREATED).body(new CreatedToken(t.info().id(), t.info().name(),
                    t.info().role().name().toLowerCase(), t.token()));
        } catch (IllegalArgumentException e) {
            return HttpResponse.badRequest(ApiError.of("token not created: " + e.getMessage()));
        }
    }

    @Delete(uri = "/{id}")
    @RequiresRole(AdminRole.ADMIN)
    @ApiAnswer(status = 204, body = Void.class, description = "deleted")
    @ApiAnswer(status = 404, description = "no token has this id")
    public HttpResponse<?> delete(@PathVariable String id) {
        return tokens.delete(id) ? HttpResponse.noContent()
                : HttpResponse.notFound(ApiError.of("no token with id '" + NodesController.printable(id) + "'"));
    }
}
