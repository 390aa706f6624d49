package dev.attestmesh.server.admin.console;

import dev.attestmesh.server.admin.AdminRole;
import dev.attestmesh.server.admin.ApiAnswer;
import dev.attestmesh.server.admin.ApiError;
import dev.attestmesh.server.admin.RequiresRole;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;

/**
 * {@code GET /api/v1/events}: server-sent events telling the web console what changed (see {@link
 * ConsoleEvents}). Authenticated like the rest of {@code /api} (viewer). 503 when the limit of
 * subscribers is reached; the console then falls back to refreshing on a timer.
 */
@Controller("/api/v1/events")
public class EventsController {
    private final ConsoleEvents events;

    EventsController(ConsoleEvents events) {
        this.events = events;
    }

    @Get(produces = {MediaType.TEXT_EVENT_STREAM, MediaType.APPLICATION_JSON})
    @RequiresRole(AdminRole.VIEWER)
    @ApiAnswer(status = 200, body = String.class, description = "a text/event-stream: 'hello', then events naming a node "
            + "id or a topic (never the state itself) and heartbeats; closed after attestmesh.console.event-stream-max")
    @ApiAnswer(status = 503, description = "attestmesh.console.max-event-subscribers streams are open")
    public HttpResponse<?> events() {
        return events.subscribe().<HttpResponse<?>>map(p -> HttpResponse.ok(p).contentType(MediaType.TEXT_EVENT_STREAM_TYPE))
                .orElseGet(() -> HttpResponse.status(HttpStatus.SERVICE_UNAVAILABLE).contentType(MediaType.APPLICATION_JSON_TYPE)
                        .body(ApiError.of("too many event subscribers (at most " + events.maxSubscribers()
                                + ", attestmesh.console.max-event-subscribers); close another console or retry later")));
    }
}
