package dev.attestmesh.server.admin.console;

import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.ResponseFilter;
import io.micronaut.http.annotation.ServerFilter;

/**
 * Adds the web console's security headers to every answer under {@code /ui} (files, redirects, 404s):
 * a Content-Security-Policy that lets pages load scripts, styles, images and API calls only from this
 * origin, with no inline script or style, no eval, no plugins, no framing and no form posts elsewhere;
 * {@code nosniff}, so a file is never run as another type than the one served; and no Referer to other
 * sites. The console builds its pages with DOM calls and {@code textContent}, never HTML strings with data,
 * so the policy is a second wall behind the escaping, not the first.
 */
@ServerFilter(patterns = {"/ui", "/ui/**"})
public final class ConsoleSecurityHeaders {
    /** The Content-Security-Policy of every console answer. */
    public static final String CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
            + "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    @ResponseFilter
    public void headers(MutableHttpResponse<?> response) {
        response.header("Content-Security-Policy", CSP);
        response.header("X-Content-Type-Options", "nosniff");
        response.header("Referrer-Policy", "no-referrer");
        response.header("X-Frame-Options", "DENY");
        response.header("Cross-Origin-Opener-Policy", "same-origin");
    }
}
