package dev.attestmesh.quote.snp;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Fetches VCEKs from AMD's Key Distribution Service:
 * {@code GET {base}/vcek/v1/{product}/{hwid}?blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=..} (Turin adds
 * {@code fmcSPL} and uses the first 8 bytes of CHIP_ID as hwid), answered with the DER certificate.
 * When a v2 report does not name its product, Milan and then Genoa are tried (Turin firmware always
 * produces v3+ reports). VLEKs are not served by KDS: they must come as collateral or from files.
 *
 * <p>Thread-safe; does no caching or limiting of its own: wrap it in {@link RateLimitedVcekProvider}, and
 * let {@link SnpReportVerifier} keep the certificates that verify.
 */
public final class KdsVcekProvider implements VcekProvider {
    private final HttpClient client;
    private final String base;
    private final Duration timeout;

    private KdsVcekProvider(HttpClient client, URI base, Duration timeout) {
        this.client = Objects.requireNonNull(client, "client");
        this.base = base.toString().replaceAll("/+$", "");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
    }

    /**
     * @param client the HTTP client
     * @param base KDS base URI, normally {@code https://kdsintf.amd.com}
     * @param timeout per-request timeout
     */
    public static KdsVcekProvider create(HttpClient client, URI base, Duration timeout) {
        return new KdsVcekProvider(client, base, timeout);
    }

    /** The KDS URI of the VCEK for {@code request} on {@code product}. */
    public URI uri(VcekRequest request, SnpProduct product) {
        SnpTcb tcb = request.reportedTcb(product);
        StringBuilder q = new StringBuilder();
        if (tcb.fmc().isPresent()) {
            q.append("fmcSPL=").append(tcb.fmc().getAsInt()).append('&');
        }
        q.append("blSPL=").append(tcb.bootloader()).append("&teeSPL=").append(tcb.tee())
                .append("&snpSPL=").append(tcb.snp()).append("&ucodeSPL=").append(tcb.microcode());
        return URI.create(base + "/vcek/v1/" + product.kdsName() + "/" + request.hwIdHex(product) + "?" + q);
    }

    @Override
    public byte[] fetch(VcekRequest request) throws VcekUnavailableException {
        if (request.keyType() != SnpSigningKey.VCEK) {
            throw new VcekUnavailableException("AMD KDS serves VCEKs only; send the " + request.keyType()
                    + " certificate as collateral or configure a file provider holding it");
        }
        if (request.chipIdHex().chars().allMatch(c -> c == '0')) {
            throw new VcekUnavailableException("the report masks its chip ID, so its VCEK cannot be looked up;"
                    + " send the VCEK as collateral");
        }
        List<SnpProduct> products = request.product().map(List::of).orElse(List.of(SnpProduct.MILAN, SnpProduct.GENOA));
        List<String> tried = new ArrayList<>();
        for (SnpProduct product : products) {
            URI uri = uri(request, product);
            HttpResponse<byte[]> response;
            try {
                response = client.send(HttpRequest.newBuilder(uri).timeout(timeout).GET().build(),
                        HttpResponse.BodyHandlers.ofByteArray());
            } catch (IOException e) {
                throw new VcekUnavailableException("cannot reach AMD KDS at " + uri + ": " + e.getMessage(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new VcekUnavailableException("interrupted while fetching " + uri, e);
            }
            int status = response.statusCode();
            if (status == 200) {
                return response.body();
            }
            if (status == 429) {
                throw new VcekUnavailableException("AMD KDS rate-limited the request for " + uri + "; retry later");
            }
            if (status != 400 && status != 404) {
                throw new VcekUnavailableException("AMD KDS answered HTTP " + status + " for " + uri);
            }
            tried.add(product.kdsName() + " (HTTP " + status + ")");
        }
        throw new VcekUnavailableException("AMD KDS has no VCEK for this chip and TCB; tried " + String.join(", ", tried));
    }
}
