package dev.attestmesh.identity.kubernetes;

import dev.attestmesh.ca.Pem;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The verifier's HTTP calls: one client per server (its own CA bundle), bodies read up to a limit and
 * refused beyond it, an optional bearer token re-read from its file for every request (the kubelet
 * rotates it). Errors never contain the bearer token or a response body.
 */
final class BoundedHttp {
    private final HttpClient client;
    private final Optional<Path> bearerTokenFile;
    private final Duration requestTimeout;

    BoundedHttp(Optional<Path> caBundleFile, Optional<Path> bearerTokenFile, KubernetesTokenSettings.HttpTimeouts t) {
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(t.connect())
                .followRedirects(HttpClient.Redirect.NEVER);
        if (caBundleFile.isPresent()) {
            b.sslContext(sslContext(caBundleFile.get()));
        }
        this.client = b.build();
        this.bearerTokenFile = bearerTokenFile;
        this.requestTimeout = t.request();
    }

    /** GET {@code uri}; the body of a 200 answer, at most {@code limit} bytes. */
    String get(URI uri, int limit) throws IOException {
        return send(request(uri).GET().header("Accept", "application/json").build(), limit);
    }

    /** POST a JSON body to {@code uri}; the body of a 2xx answer, at most {@code limit} bytes. */
    String postJson(URI uri, String json, int limit) throws IOException {
        return send(request(uri).POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8))
                .header("Content-Type", "application/json").header("Accept", "application/json").build(), limit);
    }

    private HttpRequest.Builder request(URI uri) throws IOException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(requestTimeout);
        if (bearerTokenFile.isPresent()) {
            Path file = bearerTokenFile.get();
            String token;
            try {
                token = Files.readString(file, StandardCharsets.UTF_8).strip();
            } catch (IOException e) {
                throw new IOException("cannot read the bearer token file " + file + " (" + e.getClass().getSimpleName()
                        + ")", e);
            }
            if (token.isEmpty() || token.length() > 16 * 1024 || token.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
                throw new IOException("the bearer token file " + file + " does not hold a token (empty, over 16 KiB "
                        + "or not printable ASCII)");
            }
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }

    private String send(HttpRequest request, int limit) throws IOException {
        HttpResponse<InputStream> response;
        try {
            response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while calling " + redacted(request.uri()), e);
        } catch (IOException e) {
            throw new IOException("cannot reach " + redacted(request.uri()) + ": " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : " " + ClaimChecks.sanitize(e.getMessage(), 120)), e);
        }
        try (InputStream in = response.body()) {
            int status = response.statusCode();
            if (status / 100 != 2 || (request.method().equals("GET") && status != 200)) {
                throw new IOException(redacted(request.uri()) + " answered HTTP " + status);
            }
            byte[] body = in.readNBytes(limit + 1);
            if (body.length > limit) {
                throw new IOException(redacted(request.uri()) + " sent more than " + limit + " bytes; refused");
            }
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /** The URI without user info or query, for messages. */
    static String redacted(URI uri) {
        return uri.getScheme() + "://" + uri.getHost() + (uri.getPort() < 0 ? "" : ":" + uri.getPort())
                + (uri.getRawPath() == null ? "" : uri.getRawPath());
    }

    private static SSLContext sslContext(Path caBundle) {
        try {
            List<X509Certificate> roots = Pem.parseCertificates(Files.readString(caBundle));
            if (roots.isEmpty()) {
                throw new IllegalArgumentException("CA bundle " + caBundle + " holds no PEM certificate");
            }
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            for (int i = 0; i < roots.size(); i++) {
                ks.setCertificateEntry("root-" + i, roots.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot use CA bundle " + caBundle + ": " + e.getMessage(), e);
        }
    }
}
