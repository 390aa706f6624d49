package dev.attestmesh.server.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.server.ControlPlaneFixture;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * EAR out: a node's appraisal as an EAR JWT, consumed as a relying party would: the JWKS fetched without
 * credentials, the token verified with Nimbus's JWT processor, and its claims read back.
 */
class EarOutTest {
    private static final String ADMIN = "ear-out-admin-token-0123456789abcdef";
    private static ControlPlaneFixture cp;
    private static String base;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        cp = ControlPlaneFixture.start(ControlPlaneFixture.simPolicy("default", ControlPlaneFixture.GOOD),
                Map.of("attestmesh.admin.token", ADMIN));
        base = "http://127.0.0.1:" + cp.ctx.getBean(EmbeddedServer.class).getPort();
        cp.agent("ear-1", ControlPlaneFixture.GOOD).attestOnce();
        NodeAgent revoked = cp.agent("ear-revoked", ControlPlaneFixture.GOOD);
        revoked.attestOnce();
        assertTrue(cp.cp.registry().revoke("ear-revoked", "test"));
    }

    @AfterAll
    static void stop() {
        cp.close();
    }

    private static HttpResponse<String> get(String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void tokenVerifiesWithThePublishedKeyAndCarriesTheNodesAppraisal() throws Exception {
        HttpResponse<String> jwks = get("/.well-known/attestmesh/ear-jwks.json", null);
        assertEquals(200, jwks.statusCode());
        assertFalse(jwks.body().contains("\"d\""), "no private key material published");
        HttpResponse<String> r = get("/api/v1/nodes/ear-1/ear", ADMIN);
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/jwt"));

        DefaultJWTProcessor<SecurityContext> consumer = new DefaultJWTProcessor<>();
        consumer.setJWSKeySelector(new JWSVerificationKeySelector<>(JWSAlgorithm.ES256,
                new ImmutableJWKSet<>(JWKSet.parse(jwks.body()))));
        JWTClaimsSet claims = consumer.process(r.body(), null);
        assertEquals("tag:github.com,2023:veraison/ear", claims.getStringClaim("eat_profile"));
        assertTrue(claims.getExpirationTime().after(claims.getIssueTime()));
        Map<String, Object> sub = (Map<String, Object>) ((Map<String, Object>) claims.getJSONObjectClaim("submods"))
                .get("sim");
        assertEquals("warning", sub.get("ear.status"), "the simulated TEE is never affirming");
        assertEquals("attestmesh:default@1", sub.get("ear.appraisal-policy-id"));
        Map<String, Object> annotated = (Map<String, Object>) sub.get("ear.veraison.annotated-evidence");
        assertEquals("ear-1", annotated.get("node_id"));
        assertEquals(ControlPlaneFixture.GOOD, ((Map<String, Object>) annotated.get("measurements")).get("measurement"));
        assertEquals(Map.of("default", 1L), annotated.get("policies"));
    }

    @Test
    void aTokenWithAlteredClaimsDoesNotVerify() throws Exception {
        String[] parts = get("/api/v1/nodes/ear-1/ear", ADMIN).body().split("\\.");
        String payload = new String(java.util.Base64.getUrlDecoder().decode(parts[1]));
        String forged = java.util.Base64.getUrlEncoder().withoutPadding()
                .encodeToString(payload.replace("\"warning\"", "\"affirming\"").getBytes());
        assertFalse(payload.equals(new String(java.util.Base64.getUrlDecoder().decode(forged))));
        DefaultJWTProcessor<SecurityContext> consumer = new DefaultJWTProcessor<>();
        consumer.setJWSKeySelector(new JWSVerificationKeySelector<>(JWSAlgorithm.ES256,
                new ImmutableJWKSet<>(JWKSet.parse(get("/.well-known/attestmesh/ear-jwks.json", null).body()))));
        org.junit.jupiter.api.Assertions.assertThrows(com.nimbusds.jose.proc.BadJOSEException.class,
                () -> consumer.process(parts[0] + "." + forged + "." + parts[2], null));
    }

    @Test
    void unknownNodeIs404AndRevokedNodeIs409() throws Exception {
        HttpResponse<String> unknown = get("/api/v1/nodes/nobody/ear", ADMIN);
        assertEquals(404, unknown.statusCode());
        assertTrue(unknown.body().contains("no node 'nobody'"), unknown.body());
        HttpResponse<String> revoked = get("/api/v1/nodes/ear-revoked/ear", ADMIN);
        assertEquals(409, revoked.statusCode());
        assertTrue(revoked.body().contains("REVOKED"), revoked.body());
        assertEquals(401, get("/api/v1/nodes/ear-1/ear", null).statusCode());
    }
}
