package dev.attestmesh.quote.snp;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Fetches AMD CRLs from KDS: {@code GET {base}/vcek/v1/{product}/crl} (VLEK chain: {@code /vlek/v1/...}).
 * Reads at most {@link AmdCrl#MAX_BYTES}. No caching or limiting of its own: wrap it in {@link
 * CachingAmdCrlProvider}.
 */
public final class KdsAmdCrlProvider implements AmdCrlProvider {
    private final HttpClient client;
    private final String base;
    private final Duration timeout;

    private KdsAmdCrlProvider(HttpClient client, URI base, Duration timeout) {
        this.client = Objects.requireNonNull(client, "client");
        this.base = base.toString().replaceAll("/+$", "");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
    }

    public static KdsAmdCrlProvider create(HttpClient client, URI base, Duration timeout) {
        return new KdsAmdCrlProvider(client, base, timeout);
    }

    URI uri(SnpProduct product, SnpSigningKey keyType) {
        return URI.create(base + (keyType == SnpSigningKey.VLEK ? "/vlek/v1/" : "/vcek/v1/") + product.kdsName() + "/crl");
    }

    @Override
    public Optional<byte[]> crl(SnpProduct product, SnpSigningKey keyType) throws VcekUnavailableException {
        URI uri = uri(product, keyType);
        HttpResponse<InputStream> response;
        try {
            response = client.send(HttpRequest.newBuilder(uri).timeout(timeout).GET().build(),
                    HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw new VcekUnavailableException("cannot reach AMD KDS at " + uri + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VcekUnavailableException("interrupted while fetching " + uri, e);
        }
        try (InputStream in = response.body()) {
            if (response.statusCode() != 200) {
                throw new VcekUnavailableException("AMD KDS answered HTTP " + response.statusCode() + " for " + uri);
            }
            byte[] body = in.readNBytes(AmdCrl.MAX_BYTES + 1);
            if (body.length > AmdCrl.MAX_BYTES) {
                throw new VcekUnavailableException("the CRL at " + uri + " is larger than " + AmdCrl.MAX_BYTES + " bytes");
            }
            return Optional.of(body);
        } catch (IOException e) {
            throw new VcekUnavailableException("reading the CRL from " + uri + " failed: " + e.getMessage(), e);
        }
    }
}
