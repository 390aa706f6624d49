package dev.attestmesh.identity.kubernetes;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * How the control plane verifies Kubernetes projected service-account tokens (docs/kubernetes-tokens.md).
 * Immutable and validated on construction: an invalid combination fails with an
 * {@link IllegalArgumentException} that names the setting and says what is accepted.
 *
 * <p>At least one of {@link #keySource()} (local signature verification with the issuer's public keys)
 * and {@link #tokenReview()} (the API server's TokenReview) must be present; with both, a token must
 * pass both. The claim checks (issuer, audience, lifetime, pod binding) run in every case.
 *
 * @param issuer the exact {@code iss} of the cluster's tokens (the API server's
 *     {@code --service-account-issuer}), e.g. {@code https://kubernetes.default.svc.cluster.local}
 * @param audience the audience a token must carry in {@code aud}; default {@value #DEFAULT_AUDIENCE}
 * @param keySource where the issuer's public keys come from; empty = TokenReview only
 * @param tokenReview ask the API server to authenticate each token (cached briefly); empty = keys only
 * @param clockSkew tolerance for {@code exp}, {@code nbf} and {@code iat}; default 30 s, at most 5 min
 * @param jwksCacheLifetime how long fetched keys are used before they are fetched again; default 5 min
 * @param jwksRefreshInterval the least time between two key fetches, whatever triggers them (an unknown
 *     {@code kid}, an expired cache); default 30 s, so a flood of tokens with bogus key ids costs the
 *     key source at most one fetch per interval
 * @param timeouts connect and request timeouts of every HTTP call (keys, discovery, TokenReview)
 */
public record KubernetesTokenSettings(String issuer, String audience, Optional<KeySource> keySource,
        Optional<TokenReview> tokenReview, Duration clockSkew, Duration jwksCacheLifetime,
        Duration jwksRefreshInterval, HttpTimeouts timeouts) {

    /** The audience AttestMesh's projected tokens carry. */
    public static final String DEFAULT_AUDIENCE = "attestmesh";
    /** Default tolerance for clock differences between the API server and the control plane. */
    public static final Duration DEFAULT_CLOCK_SKEW = Duration.ofSeconds(30);
    /** Largest accepted clock skew: more would keep expired tokens alive. */
    public static final Duration MAX_CLOCK_SKEW = Duration.ofMinutes(5);
    /** Default lifetime of fetched keys. */
    public static final Duration DEFAULT_JWKS_CACHE_LIFETIME = Duration.ofMinutes(5);
    /** Default least interval between two key fetches. */
    public static final Duration DEFAULT_JWKS_REFRESH_INTERVAL = Duration.ofSeconds(30);

    public KubernetesTokenSettings {
        Objects.requireNonNull(issuer, "issuer");
        Objects.requireNonNull(audience, "audience");
        Objects.requireNonNull(keySource, "keySource");
        Objects.requireNonNull(tokenReview, "tokenReview");
        Objects.requireNonNull(clockSkew, "clockSkew");
        Objects.requireNonNull(jwksCacheLifetime, "jwksCacheLifetime");
        Objects.requireNonNull(jwksRefreshInterval, "jwksRefreshInterval");
        Objects.requireNonNull(timeouts, "timeouts");
        if (issuer.isBlank() || issuer.length() > 1024) {
            throw new IllegalArgumentException("attestmesh.kubernetes.issuer must be the exact 'iss' of the cluster's "
                    + "service-account tokens (kubectl get --raw /.well-known/openid-configuration shows it)");
        }
        if (audience.isBlank() || audience.length() > 256) {
            throw new IllegalArgumentException("attestmesh.kubernetes.audience must be 1-256 characters (default '"
                    + DEFAULT_AUDIENCE + "', the audience of the pod's projected token volume)");
        }
        if (keySource.isEmpty() && tokenReview.isEmpty()) {
            throw new IllegalArgumentException("attestmesh.kubernetes needs a key source (jwks-file, jwks-url, "
                    + "oidc-discovery or pem-file) or token-review, or both: nothing would check the signature");
        }
        if (keySource.orElse(null) instanceof KeySource.OidcDiscovery) {
            requireHttpsOrLoopback("attestmesh.kubernetes.issuer (for OIDC discovery)", URI.create(issuer));
        }
        if (clockSkew.isNegative() || clockSkew.compareTo(MAX_CLOCK_SKEW) > 0) {
            throw new IllegalArgumentException("attestmesh.kubernetes.clock-skew must be between 0 and "
                    + MAX_CLOCK_SKEW.toSeconds() + " s (was " + clockSkew.toSeconds() + " s)");
        }
        requirePositive("attestmesh.kubernetes.jwks-cache-lifetime", jwksCacheLifetime);
        requirePositive("attestmesh.kubernetes.jwks-refresh-interval", jwksRefreshInterval);
        if (jwksCacheLifetime.compareTo(jwksRefreshInterval) < 0) {
            throw new IllegalArgumentException("attestmesh.kubernetes.jwks-cache-lifetime (" + jwksCacheLifetime
                    + ") must not be shorter than jwks-refresh-interval (" + jwksRefreshInterval
                    + "): keys would expire before they may be fetched again");
        }
    }

    /**
     * Settings with every default: audience {@value #DEFAULT_AUDIENCE}, 30 s skew, keys cached 5 min,
     * at most one key fetch per 30 s, 5 s connect and 10 s request timeouts, no TokenReview.
     */
    public static KubernetesTokenSettings of(String issuer, KeySource keySource) {
        return new KubernetesTokenSettings(issuer, DEFAULT_AUDIENCE, Optional.of(keySource), Optional.empty(),
                DEFAULT_CLOCK_SKEW, DEFAULT_JWKS_CACHE_LIFETIME, DEFAULT_JWKS_REFRESH_INTERVAL, HttpTimeouts.DEFAULTS);
    }

    /** Settings that rely on TokenReview alone (no local keys), with every other default. */
    public static KubernetesTokenSettings tokenReviewOnly(String issuer, TokenReview review) {
        return new KubernetesTokenSettings(issuer, DEFAULT_AUDIENCE, Optional.empty(), Optional.of(review),
                DEFAULT_CLOCK_SKEW, DEFAULT_JWKS_CACHE_LIFETIME, DEFAULT_JWKS_REFRESH_INTERVAL, HttpTimeouts.DEFAULTS);
    }

    /** A copy with this audience. */
    public KubernetesTokenSettings withAudience(String value) {
        return new KubernetesTokenSettings(issuer, value, keySource, tokenReview, clockSkew, jwksCacheLifetime,
                jwksRefreshInterval, timeouts);
    }

    /** A copy that also requires TokenReview. */
    public KubernetesTokenSettings withTokenReview(TokenReview value) {
        return new KubernetesTokenSettings(issuer, audience, keySource, Optional.of(value), clockSkew,
                jwksCacheLifetime, jwksRefreshInterval, timeouts);
    }

    /** A copy with this clock skew. */
    public KubernetesTokenSettings withClockSkew(Duration value) {
        return new KubernetesTokenSettings(issuer, audience, keySource, tokenReview, value, jwksCacheLifetime,
                jwksRefreshInterval, timeouts);
    }

    /** A copy with this key cache lifetime and least interval between key fetches. */
    public KubernetesTokenSettings withJwksCaching(Duration lifetime, Duration refreshInterval) {
        return new KubernetesTokenSettings(issuer, audience, keySource, tokenReview, clockSkew, lifetime,
                refreshInterval, timeouts);
    }

    /** A copy with these HTTP timeouts. */
    public KubernetesTokenSettings withTimeouts(HttpTimeouts value) {
        return new KubernetesTokenSettings(issuer, audience, keySource, tokenReview, clockSkew, jwksCacheLifetime,
                jwksRefreshInterval, value);
    }

    /** Where the issuer's public keys come from. Exactly one per configuration. */
    public sealed interface KeySource {
        /**
         * A JWK set file ({@code kubectl get --raw /openid/v1/jwks > jwks.json}). Read at start and again
         * when the cache expires or an unknown {@code kid} arrives (rate-limited), so replacing the file
         * rotates keys without a restart. At most 1 MiB.
         */
        record JwksFile(Path file) implements KeySource {
            public JwksFile {
                Objects.requireNonNull(file, "file");
            }
        }

        /**
         * A JWK set served over HTTPS, e.g. {@code https://kubernetes.default.svc/openid/v1/jwks}.
         *
         * @param url the JWKS address; {@code https}, or {@code http} to a loopback address only
         * @param caBundleFile PEM roots for the server (default: the JDK's trust store)
         * @param bearerTokenFile a token sent as {@code Authorization: Bearer}, re-read per fetch (the API
         *     server's JWKS endpoint needs an authenticated caller by default); never set it for a
         *     third-party URL
         */
        record JwksUrl(URI url, Optional<Path> caBundleFile, Optional<Path> bearerTokenFile) implements KeySource {
            public JwksUrl {
                Objects.requireNonNull(url, "url");
                Objects.requireNonNull(caBundleFile, "caBundleFile");
                Objects.requireNonNull(bearerTokenFile, "bearerTokenFile");
                requireHttpsOrLoopback("attestmesh.kubernetes.jwks-url", url);
            }
        }

        /**
         * The issuer's OIDC discovery document ({@code <issuer>/.well-known/openid-configuration}), whose
         * {@code issuer} must equal the configured issuer and whose {@code jwks_uri} gives the keys. Both
         * are fetched on every key refresh.
         *
         * @param caBundleFile PEM roots for the issuer and JWKS servers (default: the JDK's trust store)
         * @param bearerTokenFile a token sent with both requests, re-read per fetch; for an in-cluster
         *     issuer only
         */
        record OidcDiscovery(Optional<Path> caBundleFile, Optional<Path> bearerTokenFile) implements KeySource {
            public OidcDiscovery {
                Objects.requireNonNull(caBundleFile, "caBundleFile");
                Objects.requireNonNull(bearerTokenFile, "bearerTokenFile");
            }
        }

        /**
         * A PEM file of one or more public keys ({@code -----BEGIN PUBLIC KEY-----}, RSA or EC P-256/P-384),
         * e.g. the API server's {@code --service-account-key-file}. PEM keys carry no key id, so each key
         * of the token's algorithm family is tried. Re-read like {@link JwksFile}.
         */
        record PemFile(Path file) implements KeySource {
            public PemFile {
                Objects.requireNonNull(file, "file");
            }
        }
    }

    /**
     * The API server's TokenReview ({@code POST /apis/authentication.k8s.io/v1/tokenreviews}), as an
     * additional check or instead of local keys. Catches tokens revoked by deleting their pod or service
     * account, which signatures alone cannot.
     *
     * @param apiServer the API server's base URL, e.g. {@code https://kubernetes.default.svc}; {@code https},
     *     or {@code http} to a loopback address only
     * @param caBundleFile PEM roots for the API server (in a pod:
     *     {@code /var/run/secrets/kubernetes.io/serviceaccount/ca.crt}); empty = the JDK's trust store
     * @param bearerTokenFile the control plane's own service-account token (needs the
     *     {@code system:auth-delegator} role), re-read per request because the kubelet rotates it
     * @param cacheLifetime how long a positive answer is reused for the same token (never past the
     *     token's {@code exp}); default 30 s, at most 5 min; negative answers are never cached
     */
    public record TokenReview(URI apiServer, Optional<Path> caBundleFile, Path bearerTokenFile, Duration cacheLifetime) {
        /** Default reuse of a positive TokenReview answer. */
        public static final Duration DEFAULT_CACHE_LIFETIME = Duration.ofSeconds(30);

        public TokenReview {
            Objects.requireNonNull(apiServer, "apiServer");
            Objects.requireNonNull(caBundleFile, "caBundleFile");
            Objects.requireNonNull(bearerTokenFile, "bearerTokenFile");
            Objects.requireNonNull(cacheLifetime, "cacheLifetime");
            requireHttpsOrLoopback("attestmesh.kubernetes.token-review.api-server", apiServer);
            if (cacheLifetime.isNegative() || cacheLifetime.compareTo(Duration.ofMinutes(5)) > 0) {
                throw new IllegalArgumentException("attestmesh.kubernetes.token-review.cache-lifetime must be between "
                        + "0 and 300 s (was " + cacheLifetime.toSeconds() + " s): a deleted pod's token must stop "
                        + "working soon");
            }
        }
    }

    /**
     * Timeouts of the verifier's HTTP calls. A call that times out refuses the token (fail closed).
     *
     * @param connect TCP and TLS connection timeout
     * @param request whole-request timeout
     */
    public record HttpTimeouts(Duration connect, Duration request) {
        /** 5 s to connect, 10 s per request. */
        public static final HttpTimeouts DEFAULTS = new HttpTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(10));

        public HttpTimeouts {
            requirePositive("attestmesh.kubernetes.connect-timeout", connect);
            requirePositive("attestmesh.kubernetes.request-timeout", request);
        }
    }

    private static void requirePositive(String name, Duration d) {
        Objects.requireNonNull(d, name);
        if (d.isZero() || d.isNegative()) {
            throw new IllegalArgumentException(name + " must be positive (was " + d + ")");
        }
    }

    static void requireHttpsOrLoopback(String name, URI uri) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        String host = uri.getHost() == null ? "" : uri.getHost();
        boolean loopback = host.equals("127.0.0.1") || host.equals("localhost") || host.equals("[::1]")
                || host.equals("::1");
        if (host.isEmpty() || !(scheme.equals("https") || (scheme.equals("http") && loopback))) {
            throw new IllegalArgumentException(name + " must be an https:// URL with a host (plain http only to "
                    + "127.0.0.1, ::1 or localhost), was '" + uri + "'");
        }
    }
}
