package dev.attestmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A small client of the admin HTTP API ({@link java.net.http.HttpClient}, bearer token). A non-2xx answer
 * becomes an {@link AdminApiException} carrying the API's error text and every listed problem.
 */
final class AdminApiClient {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    /** The admin API refused or failed a request. */
    static final class AdminApiException extends RuntimeException {
        final int status;

        AdminApiException(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    private final URI base;
    private final String token;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    AdminApiClient(String baseUrl, String token) {
        this.base = URI.create(baseUrl.endsWith("/") ? baseUrl : baseUrl + "/");
        this.token = token;
    }

    JsonNode get(String path) {
        return send(request(path).GET());
    }

    JsonNode post(String path, String contentType, String body) {
        return send(request(path).header("Content-Type", contentType).POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    JsonNode put(String path, String contentType, String body) {
        return send(request(path).header("Content-Type", contentType).PUT(HttpRequest.BodyPublishers.ofString(body)));
    }

    JsonNode delete(String path) {
        return send(request(path).DELETE());
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(base.resolve(path.startsWith("/") ? path.substring(1) : path)).timeout(TIMEOUT)
                .header("Authorization", "Bearer " + token).header("Accept", "application/json");
    }

    private JsonNode send(HttpRequest.Builder b) {
        HttpRequest req = b.build();
        HttpResponse<String> r;
        try {
            r = http.send(req, HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException e) {
            throw new AdminApiException(0, "cannot connect to the admin API at " + base + " (is the control plane "
                    + "running? set --admin / ATTESTMESH_ADMIN_URL)");
        } catch (IOException e) {
            throw new AdminApiException(0, "admin API request " + req.method() + " " + req.uri() + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AdminApiException(0, "interrupted");
        }
        JsonNode body = parse(r.body());
        if (r.statusCode() / 100 != 2) {
            throw new AdminApiException(r.statusCode(), describeError(req, r.statusCode(), body, r.body()));
        }
        return body;
    }

    private static JsonNode parse(String text) {
        if (text == null || text.isBlank()) {
            return JSON.nullNode();
        }
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            return JSON.getNodeFactory().textNode(text);
        }
    }

    private static String describeError(HttpRequest req, int status, JsonNode body, String raw) {
        List<String> lines = new ArrayList<>();
        String error = body.path("error").isTextual() ? body.path("error").asText()
                : body.path("message").isTextual() ? body.path("message").asText() : raw;
        String hint = switch (status) {
            case 401 -> " (give a valid token with --token or ATTESTMESH_ADMIN_TOKEN)";
            case 403 -> " (the token's role may not do this)";
            default -> "";
        };
        lines.add(req.method() + " " + req.uri().getPath() + " answered " + status + hint + ": " + error);
        body.path("problems").forEach(p -> lines.add("  - " + p.asText()));
        return String.join("\n", lines);
    }
}
