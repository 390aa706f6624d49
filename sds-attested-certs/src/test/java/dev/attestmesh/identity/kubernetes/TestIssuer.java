package dev.attestmesh.identity.kubernetes;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/** A fake cluster issuer for tests: real keys, tokens shaped as the kubelet's projected tokens. */
final class TestIssuer {
    static final String ISSUER = "https://kubernetes.default.svc.cluster.local";
    static final String NAMESPACE = "payments";
    static final String SERVICE_ACCOUNT = "api";
    static final String POD_NAME = "api-7d9f8-x2x4q";
    static final String POD_UID = "4b1f0a52-9c1e-4d52-8f0e-2a7c3d9e6b10";

    static RSAKey rsa(String kid) {
        try {
            return new RSAKeyGenerator(2048).keyID(kid).generate();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    static ECKey ec(String kid) {
        try {
            return new ECKeyGenerator(Curve.P_256).keyID(kid).generate();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The public JWK set of these keys, as the API server serves it. */
    static String jwks(JWK... keys) {
        return new JWKSet(List.of(keys)).toPublicJWKSet().toString();
    }

    /** The claims of a projected token for the test pod, valid from {@code now} for an hour. */
    static JWTClaimsSet.Builder claims(Instant now) {
        Map<String, Object> k8s = new LinkedHashMap<>();
        k8s.put("namespace", NAMESPACE);
        k8s.put("node", Map.of("name", "worker-1", "uid", "0d6a1c2e-1111-4222-8333-944455556666"));
        k8s.put("pod", Map.of("name", POD_NAME, "uid", POD_UID));
        k8s.put("serviceaccount", Map.of("name", SERVICE_ACCOUNT, "uid", "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a"));
        return new JWTClaimsSet.Builder()
                .issuer(ISSUER)
                .audience(List.of("attestmesh"))
                .subject("system:serviceaccount:" + NAMESPACE + ":" + SERVICE_ACCOUNT)
                .issueTime(Date.from(now))
                .notBeforeTime(Date.from(now))
                .expirationTime(Date.from(now.plusSeconds(3600)))
                .jwtID("5b2c3d4e-0000-4000-8000-000000000001")
                .claim("kubernetes.io", k8s);
    }

    static String sign(JWK key, JWTClaimsSet claims) {
        return sign(key, key.getKeyID(), claims);
    }

    static String sign(JWK key, String kid, JWTClaimsSet claims) {
        try {
            JWSAlgorithm alg;
            JWSSigner signer;
            if (key instanceof RSAKey r) {
                alg = JWSAlgorithm.RS256;
                signer = new RSASSASigner(r);
            } else {
                alg = JWSAlgorithm.ES256;
                signer = new ECDSASigner((ECKey) key);
            }
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(kid).build(), claims);
            jwt.sign(signer);
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    static String token(JWK key, Instant now, UnaryOperator<JWTClaimsSet.Builder> edit) {
        return sign(key, edit.apply(claims(now)).build());
    }

    /** A clock the test moves. */
    static final class MutableClock extends Clock {
        private volatile Instant now;

        MutableClock(Instant now) {
            this.now = now;
        }

        void advanceSeconds(long s) {
            now = now.plusSeconds(s);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }

    private TestIssuer() {}
}
