package dev.attestmesh.server.admin.console;

import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import java.net.URI;

/**
 * Serves the web console under {@code /ui/} (docs/console.md). The files hold no data: everything the
 * console shows comes from {@code /api/v1} with the signed-in user's credentials (a bearer token kept in
 * the tab's sessionStorage, or the browser's admin client certificate), so serving the files unauthenticated
 * reveals nothing and lets the sign-in page load. Every answer under {@code /ui} carries the strict headers of
 * {@link ConsoleSecurityHeaders}.
 */
@Controller("/ui")
public class ConsoleController {
    private final ConsoleAssets assets = new ConsoleAssets();

    /**
     * The console's page. Micronaut routes {@code /ui} and {@code /ui/} to this one handler; {@code /ui} is
     * redirected to {@code /ui/} so that the page's relative module imports resolve under {@code /ui/}.
     */
    @Get
    public HttpResponse<?> index(HttpRequest<?> request) {
        if (!request.getPath().endsWith("/")) {
            return HttpResponse.redirect(URI.create("/ui/"));
        }
        return serve("index.html", request);
    }

    @Get("/{+path}")
    public HttpResponse<?> file(@PathVariable String path, HttpRequest<?> request) {
        return serve(path, request);
    }

    private HttpResponse<?> serve(String path, HttpRequest<?> request) {
        return assets.get(path).<HttpResponse<?>>map(a -> {
            if (request.getHeaders().get(HttpHeaders.IF_NONE_MATCH, String.class).filter(a.etag()::equals).isPresent()) {
                return HttpResponse.notModified().header(HttpHeaders.ETAG, a.etag());
            }
            return HttpResponse.ok(a.content()).contentType(MediaType.of(a.mediaType())).header(HttpHeaders.ETAG, a.etag())
                    .header(HttpHeaders.CACHE_CONTROL, "no-cache");
        }).orElseGet(() -> HttpResponse.notFound("no such file in the web console\n").contentType(MediaType.TEXT_PLAIN_TYPE));
    }
}
