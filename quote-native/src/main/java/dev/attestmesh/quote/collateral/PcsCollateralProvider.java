package dev.attestmesh.quote.collateral;

import dev.attestmesh.quote.TeeType;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Collateral from Intel PCS or a PCCS (API v4) over {@link HttpClient}:
 *
 * <ul>
 *   <li>{@code GET {base}/sgx|tdx/certification/v4/tcb?fmspc=..}, issuer chain in {@code TCB-Info-Issuer-Chain};
 *   <li>{@code GET {base}/sgx|tdx/certification/v4/qe/identity}, chain in {@code SGX-Enclave-Identity-Issuer-Chain};
 *   <li>{@code GET {base}/sgx/certification/v4/pckcrl?ca=processor|platform&encoding=der}, chain in
 *       {@code SGX-PCK-CRL-Issuer-Chain};
 *   <li>the Root CA CRL from {@code rootCaCrlUrl}: a PCCS serves it at {@code
 *       {base}/sgx/certification/v4/rootcacrl}; Intel publishes it at {@link #INTEL_ROOT_CA_CRL_URL}.
 * </ul>
 *
 * Bodies are returned exactly as received. Nothing is cached here; wrap in {@link
 * CachingCollateralProvider}. Thread-safe.
 */
public final class PcsCollateralProvider implements CollateralProvider {
    /** Intel's production PCS. */
    public static final URI INTEL_PCS = URI.create("https://api.trustedservices.intel.com");
    /** Where Intel publishes the Intel SGX Root CA CRL (DER). */
    public static final URI INTEL_ROOT_CA_CRL_URL = URI.create("https://certificates.trustedservices.intel.com/IntelSGXRootCA.der");
    /** Responses are small (a few KiB); anything far larger is not collateral. */
    private static final int MAX_BODY = 1 << 20;

    private final String base;
    private final URI rootCaCrlUrl;
    private final HttpClient client;
    private final Optional<String> apiKey;
    private final Duration timeout;

    /**
     * @param base PCS or PCCS root, e.g. {@link #INTEL_PCS} or {@code https://pccs.local:8081}
     * @param rootCaCrlUrl where to fetch the Root CA CRL
     * @param client the HTTP client (TLS configuration is the caller's)
     * @param apiKey optional {@code Ocp-Apim-Subscription-Key} for Intel PCS
     */
    public PcsCollateralProvider(URI base, URI rootCaCrlUrl, HttpClient client, Optional<String> apiKey, Duration timeout) {
        String b = base.toString();
        this.base = b.endsWith("/") ? b.substring(0, b.length() - 1) : b;
        this.rootCaCrlUrl = rootCaCrlUrl;
        this.client = client;
        this.apiKey = apiKey;
        this.timeout = timeout;
    }

    /** A PCCS at {@code base}, which serves every item including the Root CA CRL. */
    public static PcsCollateralProvider pccs(URI base, HttpClient client) {
        String b = base.toString().replaceAll("/$", "");
        return new PcsCollateralProvider(base, URI.create(b + "/sgx/certification/v4/rootcacrl"), client,
                Optional.empty(), Duration.ofSeconds(30));
    }

    @Override
    public SignedCollateral tcbInfo(TeeType tee, String fmspc) throws CollateralUnavailableException {
        if (!fmspc.matches("[0-9a-fA-F]{12}")) {
            throw new CollateralUnavailableException("FMSPC '" + fmspc + "' is not 6 bytes of hex");
        }
        Fetched r = get(base + "/" + platform(tee) + "/certification/v4/tcb?fmspc="
                + URLEncoder.encode(fmspc.toUpperCase(Locale.ROOT), StandardCharsets.UTF_8));
        try {
            return CollateralJsonParser.pcsTcbInfo(r.body(), chain(r, "TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain"));
        } catch (CollateralParseException e) {
            throw new CollateralUnavailableException("PCS TCB Info response unusable: " + e.getMessage(), e);
        }
    }

    @Override
    public SignedCollateral qeIdentity(TeeType tee) throws CollateralUnavailableException {
        Fetched r = get(base + "/" + platform(tee) + "/certification/v4/qe/identity");
        try {
            return CollateralJsonParser.pcsEnclaveIdentity(r.body(), chain(r, "SGX-Enclave-Identity-Issuer-Chain"));
        } catch (CollateralParseException e) {
            throw new CollateralUnavailableException("PCS QE Identity response unusable: " + e.getMessage(), e);
        }
    }

    @Override
    public PckCrl pckCrl(PckCa ca) throws CollateralUnavailableException {
        Fetched r = get(base + "/sgx/certification/v4/pckcrl?ca=" + ca.pcsName() + "&encoding=der");
        try {
            return new PckCrl(CollateralEncodings.crl(r.body()), chain(r, "SGX-PCK-CRL-Issuer-Chain"));
        } catch (CollateralParseException e) {
            throw new CollateralUnavailableException("PCS PCK CRL response unusable: " + e.getMessage(), e);
        }
    }

    @Override
    public RootCaCrl rootCaCrl() throws CollateralUnavailableException {
        Fetched r = get(rootCaCrlUrl.toString());
        try {
            return new RootCaCrl(CollateralEncodings.crl(r.body()));
        } catch (CollateralParseException e) {
            throw new CollateralUnavailableException("Root CA CRL response unusable: " + e.getMessage(), e);
        }
    }

    private static String platform(TeeType tee) throws CollateralUnavailableException {
        return switch (tee) {
            case SGX -> "sgx";
            case TDX -> "tdx";
            default -> throw new CollateralUnavailableException("Intel PCS has no collateral for " + tee.wireName());
        };
    }

    private static List<X509Certificate> chain(Fetched r, String... headers) throws CollateralParseException {
        for (String h : headers) {
            Optional<String> v = r.headers().firstValue(h);
            if (v.isPresent()) {
                return CollateralEncodings.certificateChain(v.get());
            }
        }
        return List.of();
    }

    /** A response body read with a size cap, so a misbehaving server cannot exhaust memory. */
    private record Fetched(java.net.http.HttpHeaders headers, byte[] body) {}

    private Fetched get(String url) throws CollateralUnavailableException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(timeout).GET();
        apiKey.ifPresent(k -> b.header("Ocp-Apim-Subscription-Key", k));
        try {
            HttpResponse<java.io.InputStream> r = client.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            try (java.io.InputStream in = r.body()) {
                if (r.statusCode() != 200) {
                    throw new CollateralUnavailableException("GET " + url + " returned HTTP " + r.statusCode()
                            + r.headers().firstValue("Error-Code").map(c -> " (" + c + ")").orElse(""));
                }
                byte[] body = in.readNBytes(MAX_BODY + 1);
                if (body.length > MAX_BODY) {
                    throw new CollateralUnavailableException("GET " + url + " returned more than " + MAX_BODY
                            + " bytes, far more than any collateral document");
                }
                return new Fetched(r.headers(), body);
            }
        } catch (IOException e) {
            throw new CollateralUnavailableException("GET " + url + " failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CollateralUnavailableException("interrupted during GET " + url, e);
        }
    }
}
