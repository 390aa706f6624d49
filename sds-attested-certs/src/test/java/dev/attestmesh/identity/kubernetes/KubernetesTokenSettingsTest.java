package dev.attestmesh.identity.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.identity.kubernetes.KubernetesTokenSettings.KeySource;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class KubernetesTokenSettingsTest {
    static final KeySource FILE = new KeySource.JwksFile(Path.of("/etc/attestmesh/jwks.json"));

    @Test
    void defaultsToAudienceAttestmeshAndThirtySecondsOfSkew() {
        KubernetesTokenSettings s = KubernetesTokenSettings.of("https://kubernetes.default.svc", FILE);
        assertEquals("attestmesh", s.audience());
        assertEquals(Duration.ofSeconds(30), s.clockSkew());
        assertEquals(Duration.ofSeconds(30), s.jwksRefreshInterval());
        assertTrue(s.tokenReview().isEmpty());
    }

    @Test
    void refusesClockSkewOverFiveMinutes() {
        var s = KubernetesTokenSettings.of("https://kubernetes.default.svc", FILE);
        var e = assertThrows(IllegalArgumentException.class, () -> s.withClockSkew(Duration.ofMinutes(6)));
        assertTrue(e.getMessage().contains("clock-skew"), e.getMessage());
    }

    @Test
    void refusesSettingsWithNeitherKeysNorTokenReview() {
        var e = assertThrows(IllegalArgumentException.class, () -> new KubernetesTokenSettings(
                "https://kubernetes.default.svc", "attestmesh", Optional.empty(), Optional.empty(), Duration.ofSeconds(30),
                Duration.ofMinutes(5), Duration.ofSeconds(30), KubernetesTokenSettings.HttpTimeouts.DEFAULTS));
        assertTrue(e.getMessage().contains("token-review"), e.getMessage());
    }

    @Test
    void refusesPlainHttpToAnotherHost() {
        assertThrows(IllegalArgumentException.class, () -> new KeySource.JwksUrl(
                URI.create("http://kubernetes.default.svc/openid/v1/jwks"), Optional.empty(), Optional.empty()));
        assertThrows(IllegalArgumentException.class, () -> new KubernetesTokenSettings.TokenReview(
                URI.create("http://10.0.0.1"), Optional.empty(), Path.of("/token"), Duration.ofSeconds(30)));
        assertThrows(IllegalArgumentException.class, () -> KubernetesTokenSettings.of("http://issuer.example",
                new KeySource.OidcDiscovery(Optional.empty(), Optional.empty())));
    }

    @Test
    void refusesKeyCacheShorterThanTheRefreshInterval() {
        var s = KubernetesTokenSettings.of("https://kubernetes.default.svc", FILE);
        assertThrows(IllegalArgumentException.class,
                () -> s.withJwksCaching(Duration.ofSeconds(10), Duration.ofSeconds(30)));
    }

    @Test
    void refusesTokenReviewCacheLongerThanFiveMinutes() {
        assertThrows(IllegalArgumentException.class, () -> new KubernetesTokenSettings.TokenReview(
                URI.create("https://kubernetes.default.svc"), Optional.empty(), Path.of("/token"), Duration.ofMinutes(10)));
    }
}
