package dev.attestmesh.trustee;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.attestmesh.input.UntrustedText;
import dev.attestmesh.quote.TeeType;
import java.io.ByteArrayOutputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Calls a Trustee attestation service's RESTful API: {@code POST <asAddr>/attestation} with
 * <pre>
 * {"verification_requests": [{"tee": "tdx", "evidence": "&lt;base64url&gt;",
 *   "runtime_data": {"raw": "&lt;base64url of the 64-byte report data binding&gt;"},
 *   "runtime_data_hash_algorithm": "sha512"}],
 *  "policy_ids": ["default"]}
 * </pre>
 * and returns the token of a 200 answer. Raw runtime data is compared by the AS with the evidence's
 * report data as is, which is exactly AttestMesh's binding. The whole exchange is bounded by a
 * deadline (connect, headers and body), the body by a size limit; anything else fails with a typed
 * {@link EarRejectedException}. Redirects are not followed. Thread-safe.
 */
public final class AttestationServiceClient implements AttestationServiceApi {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param connectTimeout TCP and TLS connection bound (RESTful API; over gRPC the request timeout bounds connecting)
     * @param requestTimeout bound on the whole request, from sending to the last byte of the answer
     * @param maxResponseBytes largest answer read; a longer one is refused as {@link EarCheck#TOO_LARGE}
     */
    public record Limits(Duration connectTimeout, Duration requestTimeout, int maxResponseBytes) {
        public Limits {
            if (connectTimeout.isNegative() || connectTimeout.isZero() || requestTimeout.isNegative()
                    || requestTimeout.isZero()) {
                throw new IllegalArgumentException("AS timeouts must be positive");
            }
            if (maxResponseBytes < 1024 || maxResponseBytes > 16 << 20) {
                throw new IllegalArgumentException("AS response limit must be 1 KiB to 16 MiB");
            }
        }

        /** Connect within 5 s, answer within 10 s, at most 1 MiB. */
        public static Limits defaults() {
            return new Limits(Duration.ofSeconds(5), Duration.ofSeconds(10), 1 << 20);
        }
    }

    private final HttpClient http;
    private final Limits limits;

    public AttestationServiceClient(HttpClient http, Limits limits) {
        this.http = Objects.requireNonNull(http, "http");
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    /** A client trusting the JDK's CAs, or only {@code ca} when given (the AS's private CA). */
    public static AttestationServiceClient create(List<X509Certificate> ca, Limits limits) {
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(limits.connectTimeout())
                .followRedirects(HttpClient.Redirect.NEVER);
        if (!ca.isEmpty()) {
            b.sslContext(sslContext(ca));
        }
        return new AttestationServiceClient(b.build(), limits);
    }

    private static SSLContext sslContext(List<X509Certificate> ca) {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, trustManagers(ca), null);
            return ctx;
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot use the AS CA certificates: " + e.getMessage(), e);
        }
    }

    /** Trust managers that trust exactly {@code ca}, the configured AS CA certificates (REST and gRPC alike). */
    static javax.net.ssl.TrustManager[] trustManagers(List<X509Certificate> ca) {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            for (int i = 0; i < ca.size(); i++) {
                ks.setCertificateEntry("as-ca-" + i, ca.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            return tmf.getTrustManagers();
        } catch (Exception e) {
            throw new IllegalArgumentException("cannot use the AS CA certificates: " + e.getMessage(), e);
        }
    }

    /** Trustee's name for an AttestMesh TEE type ({@code sim} is Trustee's {@code sample}). */
    public static String trusteeTeeName(TeeType tee) {
        return tee == TeeType.SIM ? "sample" : tee.wireName();
    }

    /** The request body; public for tests that check it against the AS's published shape. */
    public static String requestBody(TeeType tee, byte[] evidence, byte[] reportData, List<String> policyIds) {
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        ObjectNode root = JSON.createObjectNode();
        ObjectNode r = root.putArray("verification_requests").addObject();
        r.put("tee", trusteeTeeName(tee));
        r.put("evidence", b64.encodeToString(evidence));
        r.putObject("runtime_data").put("raw", b64.encodeToString(reportData));
        r.put("runtime_data_hash_algorithm", "sha512");
        policyIds.forEach(root.putArray("policy_ids")::add);
        return root.toString();
    }

    /**
     * @return the token the AS answered with (not yet verified)
     * @throws EarRejectedException TRANSPORT, TIMEOUT, AS_ERROR or TOO_LARGE
     */
    @Override
    public String attest(URI asAddr, TeeType tee, byte[] evidence, byte[] reportData, List<String> policyIds)
            throws EarRejectedException {
        String base = asAddr.toString();
        URI target = URI.create((base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + "/attestation");
        HttpRequest req = HttpRequest.newBuilder(target).timeout(limits.requestTimeout())
                .header("Content-Type", "application/json").header("Accept", "application/jwt, text/plain")
                .POST(HttpRequest.BodyPublishers.ofString(requestBody(tee, evidence, reportData, policyIds)))
                .build();
        CompletableFuture<HttpResponse<byte[]>> call = http.sendAsync(req, info -> new BoundedBody(limits.maxResponseBytes()));
        HttpResponse<byte[]> resp;
        try {
            resp = call.get(limits.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            call.cancel(true);
            throw new EarRejectedException(EarCheck.TIMEOUT, "the attestation service at " + where(asAddr)
                    + " did not answer within " + limits.requestTimeout().toMillis() + " ms");
        } catch (InterruptedException e) {
            call.cancel(true);
            Thread.currentThread().interrupt();
            throw new EarRejectedException(EarCheck.TRANSPORT, "interrupted while waiting for the attestation service");
        } catch (ExecutionException e) {
            if (hasCause(e, TooLarge.class)) {
                throw new EarRejectedException(EarCheck.TOO_LARGE, "the attestation service's answer is larger than "
                        + limits.maxResponseBytes() + " bytes");
            }
            if (hasCause(e, HttpTimeoutException.class)) {
                throw new EarRejectedException(EarCheck.TIMEOUT, "the attestation service at " + where(asAddr)
                        + " did not answer within " + limits.requestTimeout().toMillis() + " ms");
            }
            String kind = hasCause(e, ConnectException.class) ? "cannot connect to" : "request failed to";
            throw new EarRejectedException(EarCheck.TRANSPORT, kind + " the attestation service at " + where(asAddr)
                    + ": " + UntrustedText.forLog(String.valueOf(rootCause(e).getMessage()), 160));
        }
        byte[] body = resp.body();
        if (resp.statusCode() != 200) {
            throw new EarRejectedException(EarCheck.AS_ERROR, "the attestation service at " + where(asAddr)
                    + " refused the evidence with HTTP " + resp.statusCode() + ": "
                    + UntrustedText.forLog(new String(body, 0, Math.min(body.length, 400), StandardCharsets.UTF_8), 200));
        }
        return new String(body, StandardCharsets.UTF_8).strip();
    }

    /** Nothing to release: the JDK client closes idle connections itself. */
    @Override
    public void close() {}

    private static String where(URI asAddr) {
        return UntrustedText.forLog(asAddr.toString(), 120);
    }

    private static boolean hasCause(Throwable t, Class<? extends Throwable> type) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (type.isInstance(c)) {
                return true;
            }
        }
        return false;
    }

    private static Throwable rootCause(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return c;
    }

    /** The answer grew past its bound. */
    static final class TooLarge extends java.io.IOException {
        TooLarge() {
            super("response too large");
        }
    }

    /** Collects the body up to a bound; one byte more cancels the stream and fails the call. */
    private static final class BoundedBody implements HttpResponse.BodySubscriber<byte[]> {
        private final int max;
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final CompletableFuture<byte[]> result = new CompletableFuture<>();
        private Flow.Subscription subscription;

        BoundedBody(int max) {
            this.max = max;
        }

        @Override
        public CompletionStage<byte[]> getBody() {
            return result;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            if (result.isDone()) {
                return;
            }
            for (ByteBuffer b : items) {
                if (out.size() + b.remaining() > max) {
                    subscription.cancel();
                    result.completeExceptionally(new TooLarge());
                    return;
                }
                byte[] chunk = new byte[b.remaining()];
                b.get(chunk);
                out.writeBytes(chunk);
            }
        }

        @Override
        public void onError(Throwable t) {
            result.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            result.complete(out.toByteArray());
        }
    }
}
