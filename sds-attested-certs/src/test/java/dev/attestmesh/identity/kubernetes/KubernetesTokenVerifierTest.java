package dev.attestmesh.identity.kubernetes;

import static dev.attestmesh.identity.kubernetes.TestIssuer.ISSUER;
import static dev.attestmesh.identity.kubernetes.TestIssuer.NAMESPACE;
import static dev.attestmesh.identity.kubernetes.TestIssuer.POD_NAME;
import static dev.attestmesh.identity.kubernetes.TestIssuer.POD_UID;
import static dev.attestmesh.identity.kubernetes.TestIssuer.SERVICE_ACCOUNT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.EncryptionMethod;
import com.nimbusds.jose.JWEAlgorithm;
import com.nimbusds.jose.JWEHeader;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.PlainHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSAEncrypter;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.EncryptedJWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import dev.attestmesh.identity.KubernetesIdentity;
import dev.attestmesh.identity.TokenRejectedException;
import dev.attestmesh.identity.kubernetes.KubernetesTokenSettings.KeySource;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KubernetesTokenVerifierTest {
    static final Instant NOW = Instant.parse("2026-03-01T10:00:00Z");
    static final KubernetesIdentity EXPECTED = new KubernetesIdentity(NAMESPACE, SERVICE_ACCOUNT, POD_NAME, POD_UID);

    static final RSAKey RSA = TestIssuer.rsa("rsa-1");
    static final ECKey EC = TestIssuer.ec("ec-1");

    @TempDir
    Path dir;

    final TestIssuer.MutableClock clock = new TestIssuer.MutableClock(NOW);

    KubernetesTokenVerifier fileVerifier() throws Exception {
        Path jwks = Files.writeString(dir.resolve("jwks.json"), TestIssuer.jwks(RSA, EC));
        return KubernetesTokenVerifier.create(KubernetesTokenSettings.of(ISSUER, new KeySource.JwksFile(jwks)), clock);
    }

    /** The refusal's message, after checking it names the check and never echoes the token or its signature. */
    static String refused(KubernetesTokenVerifier v, String token, String check) {
        TokenRejectedException e = assertThrows(TokenRejectedException.class, () -> v.verify(token));
        String msg = e.getMessage();
        assertTrue(msg.startsWith(check + " failed"), "expected the " + check + " to fail, got: " + msg);
        if (token.length() > 20) {
            assertFalse(msg.contains(token), "message echoes the token");
            String[] parts = token.split("\\.");
            assertFalse(parts.length == 3 && parts[2].length() > 8 && msg.contains(parts[2]), "message echoes the signature");
            assertFalse(parts.length >= 2 && parts[1].length() > 8 && msg.contains(parts[1]), "message echoes the payload");
        }
        return msg;
    }

    @Test
    void acceptsRs256TokenBoundToAPod() throws Exception {
        assertEquals(EXPECTED, fileVerifier().verify(TestIssuer.token(RSA, NOW, c -> c)));
    }

    @Test
    void acceptsEs256TokenBoundToAPod() throws Exception {
        assertEquals(EXPECTED, fileVerifier().verify(TestIssuer.token(EC, NOW, c -> c)));
    }

    @Test
    void acceptsTokenWithinClockSkewOfExpiry() throws Exception {
        var v = fileVerifier();
        String token = TestIssuer.token(RSA, NOW.minusSeconds(3600 - 20), c -> c); // expires 20 s from now
        clock.advanceSeconds(40); // now 20 s past exp, within the 30 s skew
        assertEquals(EXPECTED, v.verify(token));
    }

    @Test
    void refusesExpiredToken() throws Exception {
        String token = TestIssuer.token(RSA, NOW.minusSeconds(3600 + 31), c -> c);
        assertTrue(refused(fileVerifier(), token, "lifetime check").contains("expired"));
    }

    @Test
    void refusesTokenWithoutExpiry() throws Exception {
        String token = TestIssuer.token(RSA, NOW, c -> c.expirationTime(null));
        assertTrue(refused(fileVerifier(), token, "lifetime check").contains("no 'exp'"));
    }

    @Test
    void refusesTokenNotYetValid() throws Exception {
        String token = TestIssuer.token(RSA, NOW.plusSeconds(120), c -> c);
        refused(fileVerifier(), token, "lifetime check");
    }

    @Test
    void refusesTokenForAnotherAudience() throws Exception {
        String token = TestIssuer.token(RSA, NOW, c -> c.audience(List.of("https://kubernetes.default.svc")));
        refused(fileVerifier(), token, "audience check");
    }

    @Test
    void refusesTokenFromAnotherIssuer() throws Exception {
        String token = TestIssuer.token(RSA, NOW, c -> c.issuer("https://other-cluster.example"));
        assertTrue(refused(fileVerifier(), token, "issuer check").contains("other-cluster.example"));
    }

    @Test
    void refusesTokenSignedByAnotherKeyUnderTheIssuersKeyId() throws Exception {
        RSAKey impostor = TestIssuer.rsa("rsa-1");
        String token = TestIssuer.token(impostor, NOW, c -> c);
        assertTrue(refused(fileVerifier(), token, "signature check").contains("does not verify"));
    }

    @Test
    void refusesTokenSignedByAnUnknownKey() throws Exception {
        String token = TestIssuer.token(TestIssuer.ec("attacker"), NOW, c -> c);
        assertTrue(refused(fileVerifier(), token, "signature check").contains("no key with id 'attacker'"));
    }

    @Test
    void refusesUnsignedTokenWithAlgNone() throws Exception {
        String token = new PlainJWT(new PlainHeader(), TestIssuer.claims(NOW).build()).serialize();
        assertTrue(refused(fileVerifier(), token, "algorithm check").contains("unsigned"));
        // The same with a signature part appended, as some attacks do.
        refused(fileVerifier(), token + "c2lnbmF0dXJl", "algorithm check");
    }

    @Test
    void refusesHs256TokenMacedWithTheIssuersPublicKey() throws Exception {
        // Algorithm confusion: a verifier that fed the RSA public key to an HMAC would accept this.
        byte[] publicDer = RSA.toRSAPublicKey().getEncoded();
        String pem = "-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder().encodeToString(publicDer)
                + "\n-----END PUBLIC KEY-----\n";
        for (byte[] secret : List.of(publicDer, pem.getBytes(StandardCharsets.US_ASCII))) {
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID("rsa-1").build(),
                    TestIssuer.claims(NOW).build());
            jwt.sign(new MACSigner(secret));
            String msg = refused(fileVerifier(), jwt.serialize(), "algorithm check");
            assertTrue(msg.contains("HS256") && msg.contains("symmetric"), msg);
        }
    }

    @Test
    void refusesEncryptedToken() throws Exception {
        EncryptedJWT jwe = new EncryptedJWT(new JWEHeader(JWEAlgorithm.RSA_OAEP_256, EncryptionMethod.A128GCM),
                TestIssuer.claims(NOW).build());
        jwe.encrypt(new RSAEncrypter(RSA.toRSAPublicKey()));
        assertTrue(refused(fileVerifier(), jwe.serialize(), "format check").contains("JWE"));
    }

    @Test
    void refusesTokenNotBoundToAPod() throws Exception {
        String token = TestIssuer.token(RSA, NOW, c -> c.claim("kubernetes.io",
                Map.of("namespace", NAMESPACE, "serviceaccount", Map.of("name", SERVICE_ACCOUNT, "uid", "x"))));
        assertTrue(refused(fileVerifier(), token, "pod binding check").contains("not bound to a pod"));
    }

    @Test
    void refusesTokenWithoutKubernetesClaim() throws Exception {
        String token = TestIssuer.token(RSA, NOW, c -> c.claim("kubernetes.io", null));
        refused(fileVerifier(), token, "pod binding check");
    }

    @Test
    void refusesTokenWhoseSubjectNamesAnotherServiceAccount() throws Exception {
        String token = TestIssuer.token(RSA, NOW, c -> c.subject("system:serviceaccount:kube-system:admin"));
        assertTrue(refused(fileVerifier(), token, "subject check").contains("kube-system:admin"));
    }

    @Test
    void refusesPodUidThatIsNotAUuid() throws Exception {
        Map<String, Object> k8s = new LinkedHashMap<>();
        k8s.put("namespace", NAMESPACE);
        k8s.put("pod", Map.of("name", POD_NAME, "uid", "../../etc/passwd\n"));
        k8s.put("serviceaccount", Map.of("name", SERVICE_ACCOUNT));
        String token = TestIssuer.token(RSA, NOW, c -> c.claim("kubernetes.io", k8s));
        String msg = refused(fileVerifier(), token, "claim format check");
        assertFalse(msg.contains("\n"), "claim values are sanitised: " + msg);
    }

    @Test
    void refusesNamespaceThatIsNotADnsLabel() throws Exception {
        String ns = "a".repeat(64);
        Map<String, Object> k8s = new LinkedHashMap<>();
        k8s.put("namespace", ns);
        k8s.put("pod", Map.of("name", POD_NAME, "uid", POD_UID));
        k8s.put("serviceaccount", Map.of("name", SERVICE_ACCOUNT));
        String token = TestIssuer.token(RSA, NOW, c -> c.claim("kubernetes.io", k8s)
                .subject("system:serviceaccount:" + ns + ":" + SERVICE_ACCOUNT));
        refused(fileVerifier(), token, "claim format check");
    }

    @Test
    void refusesOversizedTokenBeforeParsing() throws Exception {
        String token = TestIssuer.token(RSA, NOW, c -> c.claim("padding", "p".repeat(17 * 1024)));
        assertTrue(refused(fileVerifier(), token, "size check").contains("16384"));
        refused(fileVerifier(), "x".repeat(KubernetesTokenVerifier.MAX_TOKEN_BYTES + 1), "size check");
    }

    @Test
    void refusesGarbageThatIsNotAJwt() throws Exception {
        var v = fileVerifier();
        refused(v, "", "format check");
        refused(v, "not a token at all", "format check");
        refused(v, "a.b.c", "format check");
        refused(v, "eyJhbGciOiJSUzI1NiJ9.%%%.sig", "format check");
        String valid = TestIssuer.token(RSA, NOW, c -> c);
        String[] p = valid.split("\\.");
        refused(v, p[0] + "." + p[1] + ".", "format check");
        refused(v, p[0] + ".bm90IGpzb24." + p[2], "format check");
    }

    @Test
    void acceptsTokenSignedByAKeyFromAPemFile() throws Exception {
        String pem = "-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder().encodeToString(EC.toECPublicKey().getEncoded())
                + "\n-----END PUBLIC KEY-----\n-----BEGIN PUBLIC KEY-----\n"
                + Base64.getMimeEncoder().encodeToString(RSA.toRSAPublicKey().getEncoded()) + "\n-----END PUBLIC KEY-----\n";
        Path file = Files.writeString(dir.resolve("sa.pub"), pem);
        var v = KubernetesTokenVerifier.create(KubernetesTokenSettings.of(ISSUER, new KeySource.PemFile(file)), clock);
        assertEquals(EXPECTED, v.verify(TestIssuer.token(RSA, NOW, c -> c)));
        assertEquals(EXPECTED, v.verify(TestIssuer.token(EC, NOW, c -> c)));
        refused(v, TestIssuer.token(TestIssuer.rsa("rsa-1"), NOW, c -> c), "signature check");
    }

    @Test
    void refreshesKeysOnceForAnUnknownKidAndFindsTheRotatedKey() throws Exception {
        try (LocalHttpServer http = new LocalHttpServer()) {
            http.answer("/openid/v1/jwks", 200, TestIssuer.jwks(RSA));
            var v = urlVerifier(http);
            assertEquals(EXPECTED, v.verify(TestIssuer.token(RSA, NOW, c -> c)));
            assertEquals(1, http.hits("/openid/v1/jwks"));

            RSAKey rotated = TestIssuer.rsa("rsa-2");
            http.answer("/openid/v1/jwks", 200, TestIssuer.jwks(RSA, rotated));
            clock.advanceSeconds(31); // past the refresh interval, well within the cache lifetime
            assertEquals(EXPECTED, v.verify(TestIssuer.token(rotated, NOW, c -> c)));
            assertEquals(2, http.hits("/openid/v1/jwks"), "one refresh for the unknown kid");
            assertEquals(EXPECTED, v.verify(TestIssuer.token(rotated, NOW, c -> c)));
            assertEquals(EXPECTED, v.verify(TestIssuer.token(RSA, NOW, c -> c)));
            assertEquals(2, http.hits("/openid/v1/jwks"), "known kids are served from the cache");
        }
    }

    @Test
    void floodOfUnknownKidsFetchesKeysAtMostOncePerWindow() throws Exception {
        try (LocalHttpServer http = new LocalHttpServer()) {
            http.answer("/openid/v1/jwks", 200, TestIssuer.jwks(RSA));
            var v = urlVerifier(http);
            assertEquals(EXPECTED, v.verify(TestIssuer.token(RSA, NOW, c -> c)));
            clock.advanceSeconds(31);
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<?>> all = new java.util.ArrayList<>();
                for (int i = 0; i < 200; i++) {
                    String bogus = TestIssuer.sign(RSA, "bogus-" + i, TestIssuer.claims(NOW).build());
                    all.add(pool.submit(() -> refused(v, bogus, "signature check")));
                }
                for (Future<?> f : all) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(2, http.hits("/openid/v1/jwks"), "200 unknown kids in one window: one refresh");
            assertEquals(2, v.keyFetchCount());
            clock.advanceSeconds(31);
            refused(v, TestIssuer.sign(RSA, "bogus-next", TestIssuer.claims(NOW).build()), "signature check");
            assertEquals(3, http.hits("/openid/v1/jwks"), "the next window allows one more");
            // Valid tokens keep working throughout.
            assertEquals(EXPECTED, v.verify(TestIssuer.token(RSA, NOW, c -> c)));
        }
    }

    @Test
    void findsKeysThroughOidcDiscovery() throws Exception {
        try (LocalHttpServer http = new LocalHttpServer()) {
            String issuer = http.base();
            http.answer("/.well-known/openid-configuration", 200, "{\"issuer\":\"" + issuer + "\",\"jwks_uri\":\""
                    + issuer + "/openid/v1/jwks\",\"id_token_signing_alg_values_supported\":[\"RS256\"]}");
            http.answer("/openid/v1/jwks", 200, TestIssuer.jwks(RSA));
            Path bearer = Files.writeString(dir.resolve("cp-token"), "control-plane-sa-token\n");
            var v = KubernetesTokenVerifier.create(KubernetesTokenSettings.of(issuer,
                    new KeySource.OidcDiscovery(Optional.empty(), Optional.of(bearer))), clock);
            assertEquals(EXPECTED, v.verify(TestIssuer.token(RSA, NOW, c -> c.issuer(issuer))));
            assertEquals(1, http.hits("/.well-known/openid-configuration"));
            assertEquals(1, http.hits("/openid/v1/jwks"));
            assertTrue(http.requests.stream().allMatch(r -> "Bearer control-plane-sa-token".equals(r.authorization())));
        }
    }

    @Test
    void refusesDiscoveryDocumentOfAnotherIssuer() throws Exception {
        try (LocalHttpServer http = new LocalHttpServer()) {
            String issuer = http.base();
            http.answer("/.well-known/openid-configuration", 200,
                    "{\"issuer\":\"https://evil.example\",\"jwks_uri\":\"" + issuer + "/openid/v1/jwks\"}");
            http.answer("/openid/v1/jwks", 200, TestIssuer.jwks(RSA));
            var v = KubernetesTokenVerifier.create(KubernetesTokenSettings.of(issuer,
                    new KeySource.OidcDiscovery(Optional.empty(), Optional.empty())), clock);
            String msg = refused(v, TestIssuer.token(RSA, NOW, c -> c.issuer(issuer)), "signature check");
            assertTrue(msg.contains("not the configured one"), msg);
            assertEquals(0, http.hits("/openid/v1/jwks"));
        }
    }

    @Test
    void refusesTokensClearlyWhileTheJwksEndpointIsDown() throws Exception {
        URI down;
        try (LocalHttpServer http = new LocalHttpServer()) {
            down = http.uri("/openid/v1/jwks");
        }
        var v = KubernetesTokenVerifier.create(KubernetesTokenSettings.of(ISSUER,
                new KeySource.JwksUrl(down, Optional.empty(), Optional.empty())), clock);
        String msg = refused(v, TestIssuer.token(RSA, NOW, c -> c), "signature check");
        assertTrue(msg.contains("keys are unavailable") && msg.contains("cannot reach"), msg);
    }

    @Test
    void refusesTokensWhenTheJwksEndpointFailsAfterTheCacheExpired() throws Exception {
        try (LocalHttpServer http = new LocalHttpServer()) {
            http.answer("/openid/v1/jwks", 200, TestIssuer.jwks(RSA));
            var v = urlVerifier(http);
            assertEquals(EXPECTED, v.verify(TestIssuer.token(RSA, NOW, c -> c)));
            http.answer("/openid/v1/jwks", 503, "{}");
            clock.advanceSeconds(301);
            String msg = refused(v, TestIssuer.token(RSA, NOW, c -> c), "signature check");
            assertTrue(msg.contains("HTTP 503"), msg);
        }
    }

    @Test
    void refusesOversizedJwksDocument() throws Exception {
        try (LocalHttpServer http = new LocalHttpServer()) {
            String big = TestIssuer.jwks(RSA).replace("{\"keys\"", "{\"pad\":\"" + "p".repeat(1024 * 1024) + "\",\"keys\"");
            http.answer("/openid/v1/jwks", 200, big);
            String msg = refused(urlVerifier(http), TestIssuer.token(RSA, NOW, c -> c), "signature check");
            assertTrue(msg.contains("more than 1048576 bytes"), msg);
        }
    }

    @Test
    void acceptsTokenThatTokenReviewAuthenticatesAndCachesTheAnswer() throws Exception {
        try (LocalHttpServer api = new LocalHttpServer()) {
            api.answer(TokenReviewClient.PATH, 201, review(true, "system:serviceaccount:payments:api", POD_UID));
            var v = tokenReviewVerifier(api, true);
            String token = TestIssuer.token(RSA, NOW, c -> c);
            assertEquals(EXPECTED, v.verify(token));
            assertEquals(EXPECTED, v.verify(token));
            assertEquals(1, api.hits(TokenReviewClient.PATH), "a positive answer is reused briefly");
            LocalHttpServer.Recorded sent = api.requests.get(0);
            assertEquals("POST", sent.method());
            assertEquals("Bearer cp-token", sent.authorization());
            var body = new com.fasterxml.jackson.databind.ObjectMapper().readTree(sent.body());
            assertEquals(token, body.path("spec").path("token").asText());
            assertEquals("attestmesh", body.path("spec").path("audiences").path(0).asText());
            clock.advanceSeconds(31);
            assertEquals(EXPECTED, v.verify(token));
            assertEquals(2, api.hits(TokenReviewClient.PATH), "and asked again after the cache lifetime");
        }
    }

    @Test
    void refusesTokenThatTokenReviewDoesNotAuthenticate() throws Exception {
        try (LocalHttpServer api = new LocalHttpServer()) {
            api.answer(TokenReviewClient.PATH, 201, "{\"status\":{\"authenticated\":false,"
                    + "\"error\":\"pod 4b1f0a52 not found\"}}");
            var v = tokenReviewVerifier(api, true);
            String token = TestIssuer.token(RSA, NOW, c -> c);
            assertTrue(refused(v, token, "TokenReview check").contains("did not authenticate"));
            refused(v, token, "TokenReview check");
            assertEquals(2, api.hits(TokenReviewClient.PATH), "refusals are not cached");
        }
    }

    @Test
    void refusesTokenWhoseTokenReviewNamesAnotherPodUid() throws Exception {
        try (LocalHttpServer api = new LocalHttpServer()) {
            api.answer(TokenReviewClient.PATH, 201, review(true, "system:serviceaccount:payments:api",
                    "00000000-0000-4000-8000-000000000000"));
            String msg = refused(tokenReviewVerifier(api, false), TestIssuer.token(RSA, NOW, c -> c), "TokenReview check");
            assertTrue(msg.contains("pod UID"), msg);
        }
    }

    @Test
    void refusesTokenWhoseTokenReviewNamesAnotherServiceAccount() throws Exception {
        try (LocalHttpServer api = new LocalHttpServer()) {
            api.answer(TokenReviewClient.PATH, 201, review(true, "system:serviceaccount:payments:other", POD_UID));
            refused(tokenReviewVerifier(api, false), TestIssuer.token(RSA, NOW, c -> c), "TokenReview check");
        }
    }

    @Test
    void refusesTokenWhenTokenReviewIsForbidden() throws Exception {
        try (LocalHttpServer api = new LocalHttpServer()) {
            api.answer(TokenReviewClient.PATH, 403, "{\"kind\":\"Status\"}");
            String msg = refused(tokenReviewVerifier(api, false), TestIssuer.token(RSA, NOW, c -> c), "TokenReview check");
            assertTrue(msg.contains("HTTP 403") && msg.contains("system:auth-delegator"), msg);
        }
    }

    @Test
    void tokenReviewOnlyStillAppliesTheAlgorithmAndClaimChecks() throws Exception {
        try (LocalHttpServer api = new LocalHttpServer()) {
            api.answer(TokenReviewClient.PATH, 201, review(true, "system:serviceaccount:payments:api", POD_UID));
            var v = tokenReviewVerifier(api, false);
            assertEquals(EXPECTED, v.verify(TestIssuer.token(RSA, NOW, c -> c)));
            refused(v, TestIssuer.token(RSA, NOW, c -> c.audience("other")), "audience check");
            refused(v, new PlainJWT(new PlainHeader(), TestIssuer.claims(NOW).build()).serialize(), "algorithm check");
            assertEquals(1, api.hits(TokenReviewClient.PATH), "refused tokens never reach the API server");
        }
    }

    KubernetesTokenVerifier urlVerifier(LocalHttpServer http) {
        return KubernetesTokenVerifier.create(KubernetesTokenSettings.of(ISSUER, new KeySource.JwksUrl(
                http.uri("/openid/v1/jwks"), Optional.empty(), Optional.empty())), clock);
    }

    KubernetesTokenVerifier tokenReviewVerifier(LocalHttpServer api, boolean withKeys) throws Exception {
        Path bearer = Files.writeString(dir.resolve("cp-token"), "cp-token");
        var review = new KubernetesTokenSettings.TokenReview(java.net.URI.create(api.base()), Optional.empty(), bearer,
                Duration.ofSeconds(30));
        KubernetesTokenSettings s = withKeys
                ? KubernetesTokenSettings.of(ISSUER, new KeySource.JwksFile(
                        Files.writeString(dir.resolve("jwks.json"), TestIssuer.jwks(RSA)))).withTokenReview(review)
                : KubernetesTokenSettings.tokenReviewOnly(ISSUER, review);
        return KubernetesTokenVerifier.create(s, clock);
    }

    static String review(boolean authenticated, String username, String podUid) {
        return "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\",\"status\":{\"authenticated\":"
                + authenticated + ",\"audiences\":[\"attestmesh\"],\"user\":{\"username\":\"" + username
                + "\",\"uid\":\"9e8d7c6b\",\"groups\":[\"system:serviceaccounts\"],\"extra\":{"
                + "\"authentication.kubernetes.io/pod-name\":[\"" + POD_NAME + "\"],"
                + "\"authentication.kubernetes.io/pod-uid\":[\"" + podUid + "\"]}}}}";
    }
}
