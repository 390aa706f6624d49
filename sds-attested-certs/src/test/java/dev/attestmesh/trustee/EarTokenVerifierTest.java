package dev.attestmesh.trustee;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.TeeType;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EarTokenVerifierTest {
    private static final Instant NOW = Instant.parse("2026-01-10T10:00:00Z");
    private final EarTokens as = new EarTokens();
    private final byte[] binding = filled(0x5a);

    private static byte[] filled(int b) {
        byte[] out = new byte[64];
        Arrays.fill(out, (byte) b);
        return out;
    }

    private EarCheck refusal(String token) {
        return assertThrows(EarRejectedException.class, () -> as.verifier().verify(token, TeeType.TDX, binding, NOW))
                .check();
    }

    @Test
    void reportDataInOtherScriptsDigitsIsRefusedNotThrown() {
        // Character.digit accepts e.g. NKo and fullwidth digits; hex report data must be ASCII (found by Jazzer).
        assertTrue(EarTokenVerifier.decodeReportData("\u07c0".repeat(128)).isEmpty());
        assertTrue(EarTokenVerifier.decodeReportData("\uff10".repeat(128)).isEmpty());
        assertEquals(64, EarTokenVerifier.decodeReportData("0a".repeat(64)).orElseThrow().length);
    }

    @Test
    void mapsAnAffirmingTrusteeTokenToClaims() throws Exception {
        EarAppraisal a = as.verifier().verify(as.sign(EarTokens.claims(binding, "affirming", NOW)), TeeType.TDX,
                binding, NOW);
        assertEquals(EarStatus.AFFIRMING, a.status());
        assertEquals(3, a.trustVector().get("executables"));
        assertEquals("b1".repeat(48), a.measurements().get("mrtd"));
        assertEquals("03000500000000000000000000000000", a.measurements().get("tee_tcb_svn"));
        assertEquals(java.util.Optional.of(false), a.debug());
        assertEquals(java.util.Optional.of("default"), a.appraisalPolicyId());
    }

    @Test
    void rejectsTokenSignedByAnotherKey() {
        String forged = new EarTokens().sign(EarTokens.claims(binding, "affirming", NOW));
        assertEquals(EarCheck.SIGNATURE, refusal(forged));
    }

    @Test
    void rejectsTokenWithTamperedPayload() {
        String[] parts = as.sign(EarTokens.claims(binding, "warning", NOW)).split("\\.");
        String other = as.sign(EarTokens.claims(binding, "affirming", NOW)).split("\\.")[1];
        assertEquals(EarCheck.SIGNATURE, refusal(parts[0] + "." + other + "." + parts[2]));
    }

    @Test
    void rejectsUnsignedToken() {
        String header = Base64.getUrlEncoder().withoutPadding().encodeToString("{\"alg\":\"none\"}".getBytes());
        String payload = as.sign(EarTokens.claims(binding, "affirming", NOW)).split("\\.")[1];
        assertEquals(EarCheck.PARSE, refusal(header + "." + payload + "."));
        String hs = Base64.getUrlEncoder().withoutPadding().encodeToString("{\"alg\":\"HS256\"}".getBytes());
        assertEquals(EarCheck.ALGORITHM, refusal(hs + "." + payload + ".AAAA"));
    }

    @Test
    void rejectsTokenBindingAnotherNonce() {
        assertEquals(EarCheck.BINDING, refusal(as.sign(EarTokens.claims(filled(0x11), "affirming", NOW))));
    }

    @Test
    void acceptsReportDataEchoedAsBase64LikeTheSampleVerifier() throws Exception {
        Map<String, Object> c = EarTokens.claims(binding, "affirming", NOW);
        @SuppressWarnings("unchecked")
        Map<String, Object> sub = (Map<String, Object>) ((Map<String, Object>) c.get("submods")).get("cpu0");
        @SuppressWarnings("unchecked")
        Map<String, Object> annotated = new java.util.HashMap<>((Map<String, Object>) sub.get("ear.veraison.annotated-evidence"));
        annotated.put("report_data", Base64.getEncoder().encodeToString(binding));
        Map<String, Object> sub2 = new java.util.HashMap<>(sub);
        sub2.put("ear.veraison.annotated-evidence", annotated);
        c.put("submods", Map.of("cpu0", sub2));
        assertEquals(EarStatus.AFFIRMING, as.verifier().verify(as.sign(c), TeeType.TDX, binding, NOW).status());
    }

    @Test
    void rejectsExpiredAndFutureTokens() {
        assertEquals(EarCheck.TIME, refusal(as.sign(EarTokens.claims(binding, "affirming", NOW.minusSeconds(900)))));
        assertEquals(EarCheck.TIME, refusal(as.sign(EarTokens.claims(binding, "affirming", NOW.plusSeconds(600)))));
        Map<String, Object> noExp = EarTokens.claims(binding, "affirming", NOW);
        noExp.remove("exp");
        assertEquals(EarCheck.TIME, refusal(as.sign(noExp)));
    }

    @Test
    void rejectsContraindicatedStatusAndClaims() {
        assertEquals(EarCheck.CONTRAINDICATED, refusal(as.sign(EarTokens.claims(binding, "contraindicated", NOW))));
        Map<String, Object> c = EarTokens.claims(binding, "affirming", NOW);
        @SuppressWarnings("unchecked")
        Map<String, Object> sub = new java.util.HashMap<>((Map<String, Object>) ((Map<String, Object>) c.get("submods")).get("cpu0"));
        sub.put("ear.trustworthiness-vector", Map.of("executables", 99));
        c.put("submods", Map.of("cpu0", sub));
        assertEquals(EarCheck.CONTRAINDICATED, refusal(as.sign(c)));
    }

    @Test
    void rejectsUnknownOrMalformedClaims() {
        Map<String, Object> c = EarTokens.claims(binding, "affirming", NOW);
        c.put("ear.something-new", 1);
        assertEquals(EarCheck.CLAIMS, refusal(as.sign(c)));
        Map<String, Object> badStatus = EarTokens.claims(binding, "great", NOW);
        assertEquals(EarCheck.CLAIMS, refusal(as.sign(badStatus)));
        Map<String, Object> two = EarTokens.claims(binding, "affirming", NOW);
        @SuppressWarnings("unchecked")
        Map<String, Object> sub = (Map<String, Object>) ((Map<String, Object>) two.get("submods")).get("cpu0");
        two.put("submods", Map.of("cpu0", sub, "gpu0", sub));
        assertEquals(EarCheck.CLAIMS, refusal(as.sign(two)));
        Map<String, Object> badTv = EarTokens.claims(binding, "affirming", NOW);
        Map<String, Object> sub2 = new java.util.HashMap<>(sub);
        sub2.put("ear.trustworthiness-vector", Map.of("vibes", 2));
        badTv.put("submods", Map.of("cpu0", sub2));
        assertEquals(EarCheck.CLAIMS, refusal(as.sign(badTv)));
        Map<String, Object> profile = EarTokens.claims(binding, "affirming", NOW);
        profile.put("eat_profile", "tag:example.com,2020:other");
        assertEquals(EarCheck.PROFILE, refusal(as.sign(profile)));
        assertEquals(EarCheck.PARSE, refusal("not a token"));
    }

    @Test
    void rejectsMeasurementOfTheWrongLength() {
        Map<String, Object> c = EarTokens.claims(binding, "affirming", NOW);
        @SuppressWarnings("unchecked")
        Map<String, Object> sub = new java.util.HashMap<>((Map<String, Object>) ((Map<String, Object>) c.get("submods")).get("cpu0"));
        sub.put("ear.veraison.annotated-evidence", Map.of("report_data", java.util.HexFormat.of().formatHex(binding),
                "tdx", Map.of("quote", Map.of("body", Map.of("mr_td", "abcd")))));
        c.put("submods", Map.of("cpu0", sub));
        EarRejectedException e = assertThrows(EarRejectedException.class,
                () -> as.verifier().verify(as.sign(c), TeeType.TDX, binding, NOW));
        assertEquals(EarCheck.CLAIMS, e.check());
        assertTrue(e.getMessage().contains("mr_td"), e.getMessage());
        // The right length in another script's digits is not hex either: it never becomes a stored claim.
        sub.put("ear.veraison.annotated-evidence", Map.of("report_data", java.util.HexFormat.of().formatHex(binding),
                "tdx", Map.of("quote", Map.of("body", Map.of("mr_td", "\u0660".repeat(96))))));
        c.put("submods", Map.of("cpu0", sub));
        EarRejectedException digits = assertThrows(EarRejectedException.class,
                () -> as.verifier().verify(as.sign(c), TeeType.TDX, binding, NOW));
        assertEquals(EarCheck.CLAIMS, digits.check());
    }
}
