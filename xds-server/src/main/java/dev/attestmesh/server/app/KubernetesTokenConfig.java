package dev.attestmesh.server.app;

import dev.attestmesh.identity.ServiceAccountTokenVerifier;
import dev.attestmesh.identity.kubernetes.KubernetesTokenSettings;
import dev.attestmesh.identity.kubernetes.KubernetesTokenVerifier;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The {@code attestmesh.kubernetes.*} configuration, turned into a token verifier. Kubernetes mode is
 * on when {@code issuer} is set; then exactly one key source ({@code jwks-file}, {@code jwks-url},
 * {@code oidc-discovery: true} or {@code public-key-file}) and/or {@code token-review-url} is required.
 * Every problem names its key, and a misconfiguration stops the start rather than accepting tokens
 * unverified. See docs/identity.md and docs/kubernetes-tokens.md.
 *
 * @param issuer the cluster's service-account issuer ({@code iss}); empty = Kubernetes mode off
 * @param caFile CA bundle for the API server (JWKS URL, discovery and TokenReview)
 * @param bearerTokenFile the control plane's own service-account token for the API server
 */
public record KubernetesTokenConfig(String issuer, String audience, String jwksFile, String jwksUrl,
        boolean oidcDiscovery, String publicKeyFile, String tokenReviewUrl, String caFile, String bearerTokenFile,
        Duration clockSkew) {

    /** The verifier this configuration asks for: {@link ServiceAccountTokenVerifier#DISABLED} when off. */
    public ServiceAccountTokenVerifier verifier() {
        return settings().<ServiceAccountTokenVerifier>map(KubernetesTokenVerifier::create)
                .orElse(ServiceAccountTokenVerifier.DISABLED);
    }

    /**
     * @throws IllegalArgumentException listing every problem, each naming its configuration key
     */
    public Optional<KubernetesTokenSettings> settings() {
        if (issuer.isBlank()) {
            List<String> set = new ArrayList<>();
            addIfSet(set, "jwks-file", jwksFile);
            addIfSet(set, "jwks-url", jwksUrl);
            addIfSet(set, "public-key-file", publicKeyFile);
            addIfSet(set, "token-review-url", tokenReviewUrl);
            if (oidcDiscovery) {
                set.add("oidc-discovery");
            }
            if (!set.isEmpty()) {
                throw new IllegalArgumentException("attestmesh.kubernetes." + set.getFirst() + " is set but "
                        + "attestmesh.kubernetes.issuer is not: set the cluster's service-account issuer to turn on "
                        + "Kubernetes mode");
            }
            return Optional.empty();
        }
        Optional<Path> ca = optionalPath(caFile);
        Optional<Path> bearer = optionalPath(bearerTokenFile);
        List<KubernetesTokenSettings.KeySource> sources = new ArrayList<>();
        if (!jwksFile.isBlank()) {
            sources.add(new KubernetesTokenSettings.KeySource.JwksFile(Path.of(jwksFile)));
        }
        if (!jwksUrl.isBlank()) {
            sources.add(new KubernetesTokenSettings.KeySource.JwksUrl(URI.create(jwksUrl), ca, bearer));
        }
        if (oidcDiscovery) {
            sources.add(new KubernetesTokenSettings.KeySource.OidcDiscovery(ca, bearer));
        }
        if (!publicKeyFile.isBlank()) {
            sources.add(new KubernetesTokenSettings.KeySource.PemFile(Path.of(publicKeyFile)));
        }
        if (sources.size() > 1) {
            throw new IllegalArgumentException("attestmesh.kubernetes: set only one of jwks-file, jwks-url, "
                    + "oidc-discovery and public-key-file");
        }
        Optional<KubernetesTokenSettings.TokenReview> review = Optional.empty();
        if (!tokenReviewUrl.isBlank()) {
            if (bearer.isEmpty()) {
                throw new IllegalArgumentException("attestmesh.kubernetes.token-review-url needs "
                        + "attestmesh.kubernetes.bearer-token-file (the control plane's own service-account token)");
            }
            review = Optional.of(new KubernetesTokenSettings.TokenReview(URI.create(tokenReviewUrl), ca, bearer.get(),
                    KubernetesTokenSettings.TokenReview.DEFAULT_CACHE_LIFETIME));
        }
        if (sources.isEmpty() && review.isEmpty()) {
            throw new IllegalArgumentException("attestmesh.kubernetes.issuer is set but no way to verify tokens is: "
                    + "set one of jwks-file, jwks-url, oidc-discovery, public-key-file, or token-review-url");
        }
        KubernetesTokenSettings s = sources.isEmpty()
                ? KubernetesTokenSettings.tokenReviewOnly(issuer, review.get())
                : KubernetesTokenSettings.of(issuer, sources.getFirst());
        if (!sources.isEmpty() && review.isPresent()) {
            s = s.withTokenReview(review.get());
        }
        if (!audience.isBlank()) {
            s = s.withAudience(audience);
        }
        return Optional.of(s.withClockSkew(clockSkew));
    }

    private static void addIfSet(List<String> out, String key, String value) {
        if (!value.isBlank()) {
            out.add(key);
        }
    }

    private static Optional<Path> optionalPath(String s) {
        return s.isBlank() ? Optional.empty() : Optional.of(Path.of(s));
    }
}
