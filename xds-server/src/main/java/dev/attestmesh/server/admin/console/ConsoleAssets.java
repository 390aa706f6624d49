package dev.attestmesh.server.admin.console;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The web console's files, read once from the jar ({@code /ui/} on the class path) into memory. Only the
 * files named in {@link #FILES} exist: a request for anything else is a 404, whatever its path, so no
 * path can reach another class-path resource. Each file has a fixed media type and a strong ETag.
 */
public final class ConsoleAssets {
    /** Every file of the console, relative to {@code /ui/}. */
    static final List<String> FILES = List.of("index.html", "console.css", "js/app.js", "js/api.js", "js/dom.js",
            "js/events.js", "js/pages/overview.js", "js/pages/nodes.js", "js/pages/mesh.js",
            "js/pages/documents.js", "js/pages/revocations.js", "js/pages/log.js");

    /** One file. */
    public record Asset(String path, String mediaType, byte[] content, String etag) {}

    private final Map<String, Asset> assets = new LinkedHashMap<>();

    ConsoleAssets() {
        for (String f : FILES) {
            try (InputStream in = ConsoleAssets.class.getResourceAsStream("/ui/" + f)) {
                if (in == null) {
                    throw new IllegalStateException("web console file /ui/" + f + " is missing from the jar");
                }
                byte[] b = in.readAllBytes();
                assets.put(f, new Asset(f, mediaType(f), b, "\"" + HexFormat.of().formatHex(sha256(b), 0, 16) + "\""));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read web console file /ui/" + f, e);
            }
        }
    }

    /** The file at {@code path} (relative to {@code /ui/}), if it is one of the console's. */
    public Optional<Asset> get(String path) {
        return Optional.ofNullable(assets.get(path));
    }

    static String mediaType(String f) {
        if (f.endsWith(".html")) {
            return "text/html; charset=utf-8";
        }
        if (f.endsWith(".css")) {
            return "text/css; charset=utf-8";
        }
        if (f.endsWith(".js")) {
            return "text/javascript; charset=utf-8";
        }
        throw new IllegalArgumentException("no media type for " + f);
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
