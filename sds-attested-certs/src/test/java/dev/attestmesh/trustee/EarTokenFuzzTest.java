package dev.attestmesh.trustee;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.attestmesh.quote.TeeType;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;

/**
 * Feeds the EAR verifier and claim mapper arbitrary attestation-service answers: raw text, or a genuine
 * Trustee-shaped token whose JSON payload was mutated and then signed with the AS key (so the claims
 * parser and mapper, not only the signature check, see the bytes). It must only ever refuse with an
 * {@link EarRejectedException}, and anything it accepts binds this attestation's report data and is not
 * contraindicated. Without {@code JAZZER_FUZZ=1} this runs the seed inputs only (regression mode).
 */
class EarTokenFuzzTest {
    private static final Instant NOW = Instant.parse("2026-01-10T10:00:00Z");
    private static final EarTokens AS = new EarTokens();
    private static final EarTokenVerifier VERIFIER = AS.verifier();
    private static final byte[] BINDING = new byte[64];
    private static final String GENUINE_JSON;

    static {
        Arrays.fill(BINDING, (byte) 0x5a);
        GENUINE_JSON = new com.nimbusds.jose.Payload(EarTokens.claims(BINDING, "affirming", NOW)).toString();
    }

    @FuzzTest(maxDuration = "20s")
    void refusesOnlyWithTypedErrorsAndAcceptsOnlyBoundTokens(FuzzedDataProvider data) {
        TeeType tee = data.pickValue(TeeType.values());
        String token;
        if (data.consumeBoolean()) {
            token = data.consumeString(4096);
        } else {
            String json = GENUINE_JSON;
            int edits = data.consumeInt(1, 4);
            for (int i = 0; i < edits && !json.isEmpty(); i++) {
                int at = data.consumeInt(0, json.length() - 1);
                int cut = data.consumeInt(0, Math.min(8, json.length() - at));
                json = json.substring(0, at) + data.consumeString(8) + json.substring(at + cut);
            }
            token = signRaw(json);
        }
        try {
            EarAppraisal a = VERIFIER.verify(token, tee, BINDING, NOW);
            assertNotEquals(EarStatus.CONTRAINDICATED, a.status());
            // Accepted tokens echo the binding: read it back from the signed payload independently.
            com.fasterxml.jackson.databind.JsonNode p = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                    com.nimbusds.jose.JWSObject.parse(token.strip()).getPayload().toString());
            com.fasterxml.jackson.databind.JsonNode sub = p.get("submods").elements().next();
            String echoed = sub.get("ear.veraison.annotated-evidence").get("report_data").asText();
            assertArrayEquals(BINDING, EarTokenVerifier.decodeReportData(echoed).orElseThrow());
            a.trustVector().values().forEach(v -> assertNotEquals(EarStatus.CONTRAINDICATED, EarStatus.ofClaimValue(v)));
        } catch (EarRejectedException e) {
            // the only way to refuse
        } catch (java.io.IOException | java.text.ParseException e) {
            throw new AssertionError("accepted a token whose payload does not parse", e);
        }
    }

    private static String signRaw(String json) {
        try {
            com.nimbusds.jose.JWSObject jws = new com.nimbusds.jose.JWSObject(
                    new com.nimbusds.jose.JWSHeader(com.nimbusds.jose.JWSAlgorithm.ES256),
                    new com.nimbusds.jose.Payload(json.getBytes(StandardCharsets.UTF_8)));
            jws.sign(new com.nimbusds.jose.crypto.ECDSASigner(AS.key));
            return jws.serialize();
        } catch (com.nimbusds.jose.JOSEException e) {
            throw new IllegalStateException(e);
        }
    }
}
