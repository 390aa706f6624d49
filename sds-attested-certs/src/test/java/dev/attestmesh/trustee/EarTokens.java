package dev.attestmesh.trustee;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/** Builds EAR tokens shaped as Trustee's ear_broker issues them, signed with a test AS key. */
final class EarTokens {
    final ECKey key;

    EarTokens() {
        try {
            key = new ECKeyGenerator(Curve.P_256).generate();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Claims as Trustee's AS gives them for TDX evidence whose report data is {@code reportData}. */
    static Map<String, Object> claims(byte[] reportData, String status, Instant iat) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("mr_td", "b1".repeat(48));
        body.put("rtmr_0", "00".repeat(48));
        body.put("tcb_svn", "03000500000000000000000000000000");
        body.put("report_data", HexFormat.of().formatHex(reportData));
        Map<String, Object> annotated = new LinkedHashMap<>();
        annotated.put("report_data", HexFormat.of().formatHex(reportData));
        annotated.put("runtime_data_claims", null);
        annotated.put("tdx", Map.of("quote", Map.of("body", body), "td_attributes", Map.of("debug", false)));
        Map<String, Object> sub = new LinkedHashMap<>();
        sub.put("ear.status", status);
        sub.put("ear.trustworthiness-vector", Map.of("executables", 3, "hardware", 2, "configuration", 2));
        sub.put("ear.appraisal-policy-id", "default");
        sub.put("ear.veraison.annotated-evidence", annotated);
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("eat_profile", EarTokenVerifier.TRUSTEE_PROFILE);
        c.put("iat", iat.getEpochSecond());
        c.put("exp", iat.plusSeconds(300).getEpochSecond());
        c.put("ear.verifier-id", Map.of("build", "attestation-service 0.1.0", "developer",
                "https://confidentialcontainers.org"));
        c.put("submods", Map.of("cpu0", sub));
        return c;
    }

    String sign(Map<String, Object> claims) {
        try {
            JWSObject jws = new JWSObject(new JWSHeader.Builder(JWSAlgorithm.ES256).jwk(key.toPublicJWK()).build(),
                    new Payload(claims));
            jws.sign(new ECDSASigner(key));
            return jws.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    EarTokenVerifier verifier() {
        try {
            return EarTokenVerifier.forKey(key.toECPublicKey());
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }
}
