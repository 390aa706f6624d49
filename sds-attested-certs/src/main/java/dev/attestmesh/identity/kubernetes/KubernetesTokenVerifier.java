package dev.attestmesh.identity.kubernetes;

import com.nimbusds.jose.Algorithm;
import com.nimbusds.jose.Header;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.attestmesh.identity.KubernetesIdentity;
import dev.attestmesh.identity.ServiceAccountTokenVerifier;
import dev.attestmesh.identity.TokenRejectedException;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Verifies Kubernetes projected service-account tokens against {@link KubernetesTokenSettings}.
 *
 * <p>A token is accepted only when every check below holds; each failure is a
 * {@link TokenRejectedException} whose message starts with the check's name ({@code size check},
 * {@code format check}, {@code algorithm check}, {@code issuer check}, {@code audience check},
 * {@code lifetime check}, {@code pod binding check}, {@code claim format check}, {@code subject check},
 * {@code signature check}, {@code TokenReview check}) and never contains the token, its signature or an
 * unbounded claim value:
 * <ol>
 *   <li>at most {@value #MAX_TOKEN_BYTES} bytes, checked before parsing;</li>
 *   <li>a compact JWS: encrypted tokens (JWE), unsigned tokens ({@code alg: none}) and every algorithm
 *       but RS256, RS384, RS512, PS256, ES256 and ES384 are refused, so an HMAC "signed" with the
 *       issuer's public key as secret (algorithm confusion) never reaches a verifier;</li>
 *   <li>{@code iss} equal to the configured issuer, {@code aud} containing the configured audience;</li>
 *   <li>{@code exp} present and not past (allowing the clock skew); {@code nbf} and {@code iat}, when
 *       present, not in the future beyond the skew;</li>
 *   <li>a {@code kubernetes.io} claim with namespace (DNS label), service account and pod name (DNS
 *       subdomains) and pod UID (UUID): tokens not bound to a pod are refused;
 *       {@code sub == system:serviceaccount:<ns>:<sa>};</li>
 *   <li>with a key source: a signature by one of the issuer's keys, selected by {@code kid} (see
 *       {@link KubernetesTokenSettings#jwksRefreshInterval()} for the refresh rate limit), whose type and
 *       curve fit the algorithm; fetch failures refuse the token;</li>
 *   <li>with TokenReview: the API server authenticates the token for the audience as the same service
 *       account and pod UID.</li>
 * </ol>
 *
 * <p>Thread-safe; one instance serves the whole control plane (it holds the key cache).
 */
public final class KubernetesTokenVerifier implements ServiceAccountTokenVerifier {
    /** Largest token accepted; Kubernetes tokens are about 1 KiB. */
    public static final int MAX_TOKEN_BYTES = 16 * 1024;
    /** The accepted signature algorithms: asymmetric only. */
    public static final Set<JWSAlgorithm> ACCEPTED_ALGORITHMS = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384,
            JWSAlgorithm.RS512, JWSAlgorithm.PS256, JWSAlgorithm.ES256, JWSAlgorithm.ES384);
    private static final String ACCEPTED_NAMES = "RS256, RS384, RS512, PS256, ES256, ES384";

    private final KubernetesTokenSettings settings;
    private final Optional<IssuerKeys> keys;
    private final Optional<TokenReviewClient> tokenReview;
    private final Clock clock;

    private KubernetesTokenVerifier(KubernetesTokenSettings settings, Clock clock) {
        this.settings = settings;
        this.clock = clock;
        this.keys = settings.keySource().map(source -> new IssuerKeys(
                KeySetFetchers.of(source, settings.issuer(), settings.timeouts()),
                KeySetFetchers.describe(source, settings.issuer()), settings.jwksCacheLifetime(),
                settings.jwksRefreshInterval(), clock));
        this.tokenReview = settings.tokenReview().map(r -> new TokenReviewClient(r, settings.audience(),
                settings.timeouts(), clock));
    }

    /**
     * A verifier for {@code settings} on the system clock. Keys are fetched on the first token, not here,
     * so a control plane starts even while the API server is unreachable (tokens are refused meanwhile).
     *
     * @throws IllegalArgumentException when a CA bundle named in the settings cannot be read
     */
    public static KubernetesTokenVerifier create(KubernetesTokenSettings settings) {
        return create(settings, Clock.systemUTC());
    }

    /** As {@link #create(KubernetesTokenSettings)}, on {@code clock} (lifetimes, caches, rate limits). */
    public static KubernetesTokenVerifier create(KubernetesTokenSettings settings, Clock clock) {
        return new KubernetesTokenVerifier(Objects.requireNonNull(settings, "settings"),
                Objects.requireNonNull(clock, "clock"));
    }

    /** The settings this verifier applies. */
    public KubernetesTokenSettings settings() {
        return settings;
    }

    @Override
    public KubernetesIdentity verify(String token) throws TokenRejectedException {
        SignedJWT jws = parse(token);
        JWTClaimsSet claims;
        try {
            claims = jws.getJWTClaimsSet();
        } catch (ParseException e) {
            throw new TokenRejectedException("format check failed: the token's payload is not a JSON claims set");
        }
        checkIssuerAudienceLifetime(claims);
        KubernetesIdentity identity = ClaimChecks.podBinding(claims);
        if (keys.isPresent()) {
            checkSignature(jws, keys.get());
        }
        if (tokenReview.isPresent()) {
            tokenReview.get().confirm(token, identity, claims.getExpirationTime().toInstant());
        }
        return identity;
    }

    /** Key fetches attempted so far (0 without a key source); for tests and metrics. */
    public long keyFetchCount() {
        return keys.map(IssuerKeys::fetchCount).orElse(0L);
    }

    /** TokenReviews sent so far (0 without TokenReview); for tests and metrics. */
    public long tokenReviewCount() {
        return tokenReview.map(TokenReviewClient::callCount).orElse(0L);
    }

    private static SignedJWT parse(String token) throws TokenRejectedException {
        if (token == null || token.isEmpty()) {
            throw new TokenRejectedException("format check failed: no token was presented");
        }
        if (token.length() > MAX_TOKEN_BYTES || token.getBytes(StandardCharsets.UTF_8).length > MAX_TOKEN_BYTES) {
            throw new TokenRejectedException("size check failed: the token is longer than " + MAX_TOKEN_BYTES
                    + " bytes; a Kubernetes service-account token is about 1 KiB");
        }
        String[] parts = token.split("\\.", -1);
        if (parts.length == 5) {
            throw new TokenRejectedException("format check failed: the token is encrypted (JWE); present the "
                    + "projected service-account token, a signed JWT (compact JWS)");
        }
        if (parts.length != 3) {
            throw new TokenRejectedException("format check failed: the token is not a JWT in compact form "
                    + "(header.payload.signature); present the projected service-account token file's content");
        }
        Algorithm alg;
        try {
            alg = Header.parseAlgorithm(com.nimbusds.jose.util.JSONObjectUtils.parse(
                    new Base64URL(parts[0]).decodeToString()));
        } catch (ParseException | RuntimeException e) {
            throw new TokenRejectedException("format check failed: the token's header is not base64url JSON with an "
                    + "'alg'");
        }
        if (Algorithm.NONE.equals(alg)) {
            throw new TokenRejectedException("algorithm check failed: the token is unsigned (alg none)");
        }
        if (!(alg instanceof JWSAlgorithm jwsAlg) || !ACCEPTED_ALGORITHMS.contains(jwsAlg)) {
            boolean symmetric = alg instanceof JWSAlgorithm j && JWSAlgorithm.Family.HMAC_SHA.contains(j);
            throw new TokenRejectedException("algorithm check failed: alg '" + ClaimChecks.sanitize(alg.getName(), 20)
                    + "' is not accepted" + (symmetric ? " (a symmetric MAC proves nothing: the issuer's keys are public)"
                    : "") + "; accepted: " + ACCEPTED_NAMES);
        }
        if (parts[2].isEmpty()) {
            throw new TokenRejectedException("format check failed: the token has no signature");
        }
        try {
            return SignedJWT.parse(token);
        } catch (ParseException e) {
            throw new TokenRejectedException("format check failed: the token is not a compact JWS with a JSON header");
        }
    }

    private void checkIssuerAudienceLifetime(JWTClaimsSet claims) throws TokenRejectedException {
        if (!settings.issuer().equals(claims.getIssuer())) {
            throw new TokenRejectedException("issuer check failed: 'iss' is '" + ClaimChecks.sanitize(claims.getIssuer(),
                    120) + "', expected '" + ClaimChecks.sanitize(settings.issuer(), 120)
                    + "'; the token comes from another cluster or attestmesh.kubernetes.issuer is wrong");
        }
        List<String> audience = claims.getAudience();
        if (!audience.contains(settings.audience())) {
            throw new TokenRejectedException("audience check failed: 'aud' does not contain '"
                    + ClaimChecks.sanitize(settings.audience(), 64) + "' (it has " + audience.size()
                    + " other value(s)); project the token with audience " + ClaimChecks.sanitize(settings.audience(), 64));
        }
        Instant now = clock.instant();
        Duration skew = settings.clockSkew();
        Date exp = claims.getExpirationTime();
        if (exp == null) {
            throw new TokenRejectedException("lifetime check failed: the token has no 'exp'; only expiring "
                    + "(projected) tokens are accepted");
        }
        if (!now.isBefore(exp.toInstant().plus(skew))) {
            throw new TokenRejectedException("lifetime check failed: the token expired at " + exp.toInstant()
                    + "; the agent must re-read the projected token file (the kubelet rotates it)");
        }
        Date nbf = claims.getNotBeforeTime();
        if (nbf != null && nbf.toInstant().isAfter(now.plus(skew))) {
            throw new TokenRejectedException("lifetime check failed: the token is not valid before " + nbf.toInstant()
                    + " (clocks differ by more than " + skew.toSeconds() + " s?)");
        }
        Date iat = claims.getIssueTime();
        if (iat != null && iat.toInstant().isAfter(now.plus(skew))) {
            throw new TokenRejectedException("lifetime check failed: the token was issued in the future ("
                    + iat.toInstant() + "; clocks differ by more than " + skew.toSeconds() + " s?)");
        }
    }

    /**
     * Verifiers of the issuer's keys, kept between tokens: building one decodes the key (an RSA modulus from
     * base64url) on every Challenge otherwise. Keyed by the algorithm and the key's whole content (JWK equality),
     * so a rotated key gets its own entry; bounded, as issuers publish a handful of keys.
     */
    private static final com.github.benmanes.caffeine.cache.Cache<VerifierKey, Optional<JWSVerifier>> VERIFIERS =
            com.github.benmanes.caffeine.cache.Caffeine.newBuilder().maximumSize(64).build();

    private record VerifierKey(JWSAlgorithm alg, JWK key) {}

    private static void checkSignature(SignedJWT jws, IssuerKeys keys) throws TokenRejectedException {
        JWSAlgorithm alg = jws.getHeader().getAlgorithm();
        String kid = jws.getHeader().getKeyID();
        List<JWK> candidates = keys.candidates(Optional.ofNullable(kid));
        int usable = 0;
        for (JWK key : candidates) {
            Optional<JWSVerifier> verifier = VERIFIERS.get(new VerifierKey(alg, key), k -> verifierFor(k.alg(), k.key()));
            if (verifier.isEmpty()) {
                continue;
            }
            usable++;
            try {
                if (jws.verify(verifier.get())) {
                    return;
                }
            } catch (JOSEException e) {
                // A key that cannot check this signature did not make it; try the next.
            }
        }
        String which = kid == null ? "any of the issuer's keys" : "the issuer's key '" + ClaimChecks.sanitize(kid, 64) + "'";
        throw new TokenRejectedException("signature check failed: " + (usable == 0
                ? "no " + alg.getName() + " key among " + which
                : "the signature does not verify with " + which) + "; the token was not signed by the issuer");
    }

    /** A verifier when {@code key}'s type (and curve) fits {@code alg}; a key's own {@code alg}, if any, must match. */
    private static Optional<JWSVerifier> verifierFor(JWSAlgorithm alg, JWK key) {
        if (key.getAlgorithm() != null && !key.getAlgorithm().equals(alg)) {
            return Optional.empty();
        }
        if (key.getKeyUse() != null && !"sig".equals(key.getKeyUse().identifier())) {
            return Optional.empty();
        }
        try {
            if (JWSAlgorithm.Family.RSA.contains(alg) && key instanceof RSAKey rsa && rsa.size() >= 2048) {
                return Optional.of(new RSASSAVerifier(rsa));
            }
            Curve wanted = alg.equals(JWSAlgorithm.ES256) ? Curve.P_256 : alg.equals(JWSAlgorithm.ES384) ? Curve.P_384 : null;
            if (wanted != null && key instanceof ECKey ec && wanted.equals(ec.getCurve())) {
                return Optional.of(new ECDSAVerifier(ec));
            }
        } catch (JOSEException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }
}
