package dev.attestmesh.identity.kubernetes;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import dev.attestmesh.identity.KubernetesIdentity;
import dev.attestmesh.identity.TokenRejectedException;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Asks the API server whether a token is authentic and still valid (its pod and service account exist)
 * with a TokenReview, and checks the answer names the same service account and pod as the token.
 * Positive answers are cached for the configured lifetime, never past the token's {@code exp}, keyed by
 * the SHA-256 of the token (the token itself is not kept). Negative answers and errors are not cached.
 */
final class TokenReviewClient {
    static final String PATH = "/apis/authentication.k8s.io/v1/tokenreviews";
    static final String POD_UID_EXTRA = "authentication.kubernetes.io/pod-uid";
    private static final int MAX_RESPONSE_BYTES = 256 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Approval(KubernetesIdentity identity, Instant until) {}

    private final URI endpoint;
    private final BoundedHttp http;
    private final String audience;
    private final Duration cacheLifetime;
    private final Clock clock;
    private final Cache<String, Approval> approved;
    private final AtomicLong calls = new AtomicLong();

    TokenReviewClient(KubernetesTokenSettings.TokenReview settings, String audience,
            KubernetesTokenSettings.HttpTimeouts timeouts, Clock clock) {
        String base = settings.apiServer().toString().replaceAll("/+$", "");
        this.endpoint = URI.create(base + PATH);
        this.http = new BoundedHttp(settings.caBundleFile(), java.util.Optional.of(settings.bearerTokenFile()), timeouts);
        this.audience = audience;
        this.cacheLifetime = settings.cacheLifetime();
        this.clock = clock;
        this.approved = Caffeine.newBuilder().maximumSize(100_000).expireAfter(new Expiry<String, Approval>() {
            @Override
            public long expireAfterCreate(String key, Approval value, long currentTime) {
                return Math.max(0, Duration.between(clock.instant(), value.until()).toNanos());
            }

            @Override
            public long expireAfterUpdate(String key, Approval value, long currentTime, long currentDuration) {
                return expireAfterCreate(key, value, currentTime);
            }

            @Override
            public long expireAfterRead(String key, Approval value, long currentTime, long currentDuration) {
                return currentDuration;
            }
        }).build();
    }

    /**
     * Confirms {@code token}, whose claims already proved {@code claimed}, with the API server.
     *
     * @param expiresAt the token's {@code exp}: no cached approval outlives it
     */
    void confirm(String token, KubernetesIdentity claimed, Instant expiresAt) throws TokenRejectedException {
        String key = sha256(token);
        Approval cached = approved.getIfPresent(key);
        Instant now = clock.instant();
        if (cached != null && now.isBefore(cached.until()) && cached.identity().equals(claimed)) {
            return;
        }
        calls.incrementAndGet();
        ObjectNode body = JSON.createObjectNode();
        body.put("apiVersion", "authentication.k8s.io/v1");
        body.put("kind", "TokenReview");
        ObjectNode spec = body.putObject("spec");
        spec.put("token", token);
        spec.putArray("audiences").add(audience);
        JsonNode status;
        try {
            status = JSON.readTree(http.postJson(endpoint, body.toString(), MAX_RESPONSE_BYTES)).path("status");
        } catch (IOException e) {
            throw new TokenRejectedException("TokenReview check failed: " + ClaimChecks.sanitize(e.getMessage(), 300)
                    + "; check attestmesh.kubernetes.token-review (API server URL, CA bundle, and that the control "
                    + "plane's service account may create tokenreviews: system:auth-delegator)");
        }
        if (!status.path("authenticated").asBoolean(false)) {
            String error = status.path("error").asText("");
            if (error.contains(token.substring(0, Math.min(16, token.length())))) {
                error = ""; // an answer that quotes the token must not carry it into our logs
            }
            throw new TokenRejectedException("TokenReview check failed: the API server did not authenticate the token"
                    + (error.isEmpty() ? "" : " (" + ClaimChecks.sanitize(error, 160) + ")")
                    + "; it expired, or its pod or service account no longer exists");
        }
        boolean audienceMatches = false;
        for (JsonNode a : status.path("audiences")) {
            audienceMatches |= audience.equals(a.asText());
        }
        if (!audienceMatches) {
            throw new TokenRejectedException("TokenReview check failed: the API server did not confirm audience '"
                    + ClaimChecks.sanitize(audience, 64) + "' for the token");
        }
        String username = status.path("user").path("username").asText("");
        String expected = ClaimChecks.subject(claimed.namespace(), claimed.serviceAccount());
        if (!expected.equals(username)) {
            throw new TokenRejectedException("TokenReview check failed: the API server authenticated the token as '"
                    + ClaimChecks.sanitize(username, 120) + "', not " + expected);
        }
        JsonNode podUids = status.path("user").path("extra").path(POD_UID_EXTRA);
        if (!podUids.isArray() || podUids.size() != 1 || !claimed.podUid().equals(podUids.get(0).asText())) {
            throw new TokenRejectedException("TokenReview check failed: the API server's pod UID for the token ("
                    + ClaimChecks.sanitize(podUids.isArray() && podUids.size() > 0 ? podUids.get(0).asText() : null, 40)
                    + ") is not the token's pod UID " + claimed.podUid());
        }
        Instant until = now.plus(cacheLifetime);
        if (expiresAt.isBefore(until)) {
            until = expiresAt;
        }
        if (now.isBefore(until)) {
            approved.put(key, new Approval(claimed, until));
        }
    }

    /** How many TokenReviews were sent (for tests and metrics). */
    long callCount() {
        return calls.get();
    }

    private static String sha256(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
