package dev.attestmesh.trustee;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.JWSObject;
import dev.attestmesh.input.UntrustedText;
import dev.attestmesh.quote.TeeType;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Verifies an EAR token (IETF RATS EAR as JWT) from a Trustee attestation service and turns it into an
 * {@link EarAppraisal}. The token is trusted only through the AS key configured on this control plane: a
 * key or certificate carried in the token's header ({@code jwk}, {@code x5c}, {@code jku}) is never used.
 *
 * <p>Checks, in order, each failing with its own {@link EarCheck}: size, compact JWS form, algorithm
 * (asymmetric, matching the configured key), signature, JSON payload, {@code exp} / {@code iat} /
 * {@code nbf} against the clock with a bounded skew (and {@code iat} not older than the maximum token
 * age), {@code eat_profile}, the claims structure (every claim and submodule field is one the EAR profile
 * defines, with its type; exactly one submodule), the status (contraindicated is refused), and the
 * binding: the annotated evidence's {@code report_data} must equal this attestation's report data
 * (DESIGN.md section 3), which the AS compared with the evidence. Stateless and thread-safe.
 */
public final class EarTokenVerifier {
    /** Trustee's EAR profile (attestation-service {@code ear_broker}). */
    public static final String TRUSTEE_PROFILE = "tag:github.com,2024:confidential-containers/Trustee";
    /** The Veraison EAR profile, which AttestMesh's own EAR output uses too. */
    public static final String VERAISON_PROFILE = "tag:github.com,2023:veraison/ear";
    /** The trustworthiness claims of the EAR draft (AR4SI), in the JSON spelling. */
    public static final Set<String> TRUST_CLAIMS = Set.of("instance-identity", "configuration", "executables",
            "file-system", "hardware", "runtime-opaque", "storage-opaque", "sourced-data");
    /** Largest token accepted, in characters (the AS client bounds the response the same way). */
    public static final int MAX_TOKEN_CHARS = 1 << 20;
    private static final Set<String> TOP_CLAIMS = Set.of("eat_profile", "iat", "exp", "nbf", "iss", "jti",
            "ear.verifier-id", "submods", "eat_nonce", "ear.raw-evidence");
    private static final Set<String> SUBMOD_CLAIMS = Set.of("ear.status", "ear.trustworthiness-vector",
            "ear.appraisal-policy-id", "ear.veraison.annotated-evidence", "ear.veraison.policy-claims",
            "ear.veraison.key-attestation");
    private static final Set<String> VERIFIER_ID_FIELDS = Set.of("build", "developer");
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION).build();

    static {
        JSON.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(32)
                .maxStringLength(MAX_TOKEN_CHARS).build());
    }

    /**
     * How strictly times are judged.
     *
     * @param skew tolerated clock difference between the AS and this control plane
     * @param maxAge oldest {@code iat} accepted (the token is requested just before it is checked)
     */
    public record Timing(Duration skew, Duration maxAge) {
        public Timing {
            if (skew.isNegative() || skew.compareTo(Duration.ofMinutes(10)) > 0) {
                throw new IllegalArgumentException("clock skew must be 0 to 10 minutes");
            }
            if (maxAge.isNegative() || maxAge.isZero()) {
                throw new IllegalArgumentException("maximum token age must be positive");
            }
        }

        /** 60 s of skew, tokens at most 5 minutes old. */
        public static Timing defaults() {
            return new Timing(Duration.ofSeconds(60), Duration.ofMinutes(5));
        }
    }

    private final JWSVerifier verifier;
    private final Set<JWSAlgorithm> algorithms;
    private final Set<String> profiles;
    private final Timing timing;

    /**
     * @param asKey the AS token signing key (EC P-256/384/521 or RSA of at least 2048 bits)
     * @param profiles accepted {@code eat_profile} values
     */
    public EarTokenVerifier(PublicKey asKey, Set<String> profiles, Timing timing) {
        Objects.requireNonNull(asKey, "asKey");
        this.profiles = Set.copyOf(profiles);
        this.timing = Objects.requireNonNull(timing, "timing");
        try {
            if (asKey instanceof ECPublicKey ec) {
                verifier = new ECDSAVerifier(ec);
            } else if (asKey instanceof RSAPublicKey rsa) {
                if (rsa.getModulus().bitLength() < 2048) {
                    throw new IllegalArgumentException("the AS RSA key must have at least 2048 bits");
                }
                verifier = new RSASSAVerifier(rsa);
            } else {
                throw new IllegalArgumentException("the AS key must be an EC or RSA public key, not "
                        + asKey.getAlgorithm());
            }
        } catch (JOSEException e) {
            throw new IllegalArgumentException("unusable AS key: " + e.getMessage(), e);
        }
        algorithms = Set.copyOf(verifier.supportedJWSAlgorithms());
    }

    /** Accepting Trustee's and Veraison's profiles with the default timing. */
    public static EarTokenVerifier forKey(PublicKey asKey) {
        return new EarTokenVerifier(asKey, Set.of(TRUSTEE_PROFILE, VERAISON_PROFILE), Timing.defaults());
    }

    /**
     * @param token the compact JWS the AS returned
     * @param tee the TEE type the evidence was sent as (selects the claim mapping)
     * @param expectedReportData the 64 bytes this attestation's evidence must carry
     * @param now the verification time
     */
    public EarAppraisal verify(String token, TeeType tee, byte[] expectedReportData, Instant now)
            throws EarRejectedException {
        if (token.length() > MAX_TOKEN_CHARS) {
            throw new EarRejectedException(EarCheck.TOO_LARGE, "token is longer than " + MAX_TOKEN_CHARS + " characters");
        }
        JWSObject jws;
        try {
            jws = JWSObject.parse(token.strip());
        } catch (ParseException e) {
            throw new EarRejectedException(EarCheck.PARSE, "the AS answer is not a compact JWS: "
                    + UntrustedText.forLog(e.getMessage(), 120));
        }
        JWSAlgorithm alg = jws.getHeader().getAlgorithm();
        if (!algorithms.contains(alg)) {
            throw new EarRejectedException(EarCheck.ALGORITHM, "token algorithm " + UntrustedText.forLog(alg.getName(), 16)
                    + " cannot be verified with the configured AS key (accepted: " + new TreeSet<>(algorithms.stream()
                            .map(JWSAlgorithm::getName).toList()) + ")");
        }
        boolean valid;
        try {
            valid = jws.verify(verifier);
        } catch (JOSEException | RuntimeException e) {
            valid = false;
        }
        if (!valid) {
            throw new EarRejectedException(EarCheck.SIGNATURE, "token signature does not verify with the configured "
                    + "AS key");
        }
        JsonNode claims;
        try {
            claims = JSON.readTree(jws.getPayload().toString());
        } catch (JsonProcessingException | RuntimeException e) {
            throw new EarRejectedException(EarCheck.PARSE, "token payload is not JSON");
        }
        if (claims == null || !claims.isObject()) {
            throw new EarRejectedException(EarCheck.PARSE, "token payload is not a JSON object");
        }
        return appraise(claims, tee, expectedReportData, now);
    }

    private EarAppraisal appraise(JsonNode c, TeeType tee, byte[] expectedReportData, Instant now)
            throws EarRejectedException {
        unknown(c, TOP_CLAIMS, "EAR claim");
        Instant iat = time(c, "iat", true).orElseThrow();
        Instant exp = time(c, "exp", true).orElseThrow();
        Optional<Instant> nbf = time(c, "nbf", false);
        if (now.isAfter(exp.plus(timing.skew()))) {
            throw new EarRejectedException(EarCheck.TIME, "token expired at " + exp + " (now " + now + ")");
        }
        if (iat.isAfter(now.plus(timing.skew()))) {
            throw new EarRejectedException(EarCheck.TIME, "token issued in the future (" + iat + ", now " + now + ")");
        }
        if (iat.isBefore(now.minus(timing.maxAge()).minus(timing.skew()))) {
            throw new EarRejectedException(EarCheck.TIME, "token issued at " + iat + ", older than "
                    + timing.maxAge().toSeconds() + "s");
        }
        if (nbf.isPresent() && nbf.get().isAfter(now.plus(timing.skew()))) {
            throw new EarRejectedException(EarCheck.TIME, "token not valid before " + nbf.get());
        }
        JsonNode profile = c.get("eat_profile");
        if (profile == null || !profile.isTextual() || !profiles.contains(profile.asText())) {
            throw new EarRejectedException(EarCheck.PROFILE, "eat_profile "
                    + (profile == null ? "is missing" : "'" + UntrustedText.forLog(profile.asText(), 80) + "' is not accepted")
                    + "; accepted: " + new TreeSet<>(profiles));
        }
        for (String s : new String[] {"iss", "jti", "eat_nonce", "ear.raw-evidence"}) {
            if (c.has(s) && !c.get(s).isTextual()) {
                throw new EarRejectedException(EarCheck.CLAIMS, s + " must be a string");
            }
        }
        JsonNode vid = c.get("ear.verifier-id");
        if (vid == null || !vid.isObject()) {
            throw new EarRejectedException(EarCheck.CLAIMS, "ear.verifier-id must be an object {build, developer}");
        }
        unknown(vid, VERIFIER_ID_FIELDS, "ear.verifier-id field");
        for (String f : VERIFIER_ID_FIELDS) {
            if (vid.has(f) && !vid.get(f).isTextual()) {
                throw new EarRejectedException(EarCheck.CLAIMS, "ear.verifier-id." + f + " must be a string");
            }
        }
        JsonNode submods = c.get("submods");
        if (submods == null || !submods.isObject() || submods.size() != 1) {
            throw new EarRejectedException(EarCheck.CLAIMS, "submods must be an object with exactly one appraisal "
                    + "(one evidence per attestation)" + (submods != null && submods.isObject()
                            ? "; it has " + submods.size() : ""));
        }
        String name = submods.fieldNames().next();
        JsonNode sub = submods.get(name);
        String where = "submods." + UntrustedText.forLog(name, 32);
        if (!sub.isObject()) {
            throw new EarRejectedException(EarCheck.CLAIMS, where + " must be an object");
        }
        unknown(sub, SUBMOD_CLAIMS, where + " claim");
        JsonNode st = sub.get("ear.status");
        if (st == null || !st.isTextual() || EarStatus.fromWireName(st.asText()).isEmpty()) {
            throw new EarRejectedException(EarCheck.CLAIMS, where + ".ear.status must be one of none, affirming, "
                    + "warning, contraindicated");
        }
        EarStatus status = EarStatus.fromWireName(st.asText()).orElseThrow();
        Map<String, Integer> tv = new LinkedHashMap<>();
        JsonNode tvNode = sub.get("ear.trustworthiness-vector");
        if (tvNode != null) {
            if (!tvNode.isObject()) {
                throw new EarRejectedException(EarCheck.CLAIMS, where + ".ear.trustworthiness-vector must be an object");
            }
            unknown(tvNode, TRUST_CLAIMS, "trustworthiness claim");
            for (Iterator<Map.Entry<String, JsonNode>> it = tvNode.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                JsonNode v = e.getValue();
                if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < -128 || v.asInt() > 127) {
                    throw new EarRejectedException(EarCheck.CLAIMS, "trustworthiness claim " + e.getKey()
                            + " must be an integer from -128 to 127");
                }
                tv.put(e.getKey(), v.asInt());
            }
        }
        Optional<String> policyId = Optional.empty();
        JsonNode pid = sub.get("ear.appraisal-policy-id");
        if (pid != null) {
            if (!pid.isTextual() || pid.asText().length() > 256) {
                throw new EarRejectedException(EarCheck.CLAIMS, where + ".ear.appraisal-policy-id must be a string of "
                        + "at most 256 characters");
            }
            policyId = Optional.of(pid.asText());
        }
        for (String s : new String[] {"ear.veraison.policy-claims", "ear.veraison.key-attestation"}) {
            if (sub.has(s) && !sub.get(s).isObject()) {
                throw new EarRejectedException(EarCheck.CLAIMS, where + "." + s + " must be an object");
            }
        }
        boolean anyContraindicated = status == EarStatus.CONTRAINDICATED
                || tv.values().stream().anyMatch(v -> EarStatus.ofClaimValue(v) == EarStatus.CONTRAINDICATED);
        if (anyContraindicated) {
            throw new EarRejectedException(EarCheck.CONTRAINDICATED, "the attestation service appraised the evidence "
                    + "as contraindicated" + (tv.isEmpty() ? "" : " (trustworthiness vector " + tv + ")"));
        }
        JsonNode annotated = sub.get("ear.veraison.annotated-evidence");
        if (annotated == null || !annotated.isObject()) {
            throw new EarRejectedException(EarCheck.BINDING, "the token has no annotated evidence, so it does not echo "
                    + "the report data; the nonce binding cannot be checked");
        }
        checkBinding(annotated, expectedReportData);
        AnnotatedEvidenceMapper.Mapped mapped = AnnotatedEvidenceMapper.map(tee, annotated);
        String build = vid.path("build").asText("");
        return new EarAppraisal(status, tv, policyId, mapped.measurements(), mapped.numbers(), mapped.debug(), iat,
                UntrustedText.forLog(build, 128));
    }

    private static void checkBinding(JsonNode annotated, byte[] expected) throws EarRejectedException {
        JsonNode rd = annotated.get("report_data");
        if (rd == null || !rd.isTextual()) {
            throw new EarRejectedException(EarCheck.BINDING, "the annotated evidence has no report_data, so the nonce "
                    + "binding cannot be checked");
        }
        Optional<byte[]> observed = decodeReportData(rd.asText());
        if (observed.isEmpty()) {
            throw new EarRejectedException(EarCheck.BINDING, "report_data in the token is neither 64 bytes of hex nor "
                    + "of base64");
        }
        if (!MessageDigest.isEqual(observed.get(), expected)) {
            throw new EarRejectedException(EarCheck.BINDING, "report_data in the token does not bind this nonce and the "
                    + "CSR's public key (expected SHA-512(\"attestmesh-v1\" || nonce || SHA-256(CSR SPKI)))");
        }
    }

    /** Trustee's verifiers echo report data as hex (TDX, SNP) or standard base64 (sample): 64 bytes either way. */
    static Optional<byte[]> decodeReportData(String s) {
        // HexFormat.isHexDigit: ASCII only (Character.digit also takes other scripts' digits, which parseHex refuses).
        if (s.length() == 128 && s.chars().allMatch(HexFormat::isHexDigit)) {
            return Optional.of(HexFormat.of().parseHex(s));
        }
        if (s.length() > 90) {
            return Optional.empty();
        }
        for (Base64.Decoder d : new Base64.Decoder[] {Base64.getDecoder(), Base64.getUrlDecoder()}) {
            try {
                byte[] b = d.decode(s);
                if (b.length == 64) {
                    return Optional.of(b);
                }
            } catch (IllegalArgumentException e) {
                // try the other alphabet
            }
        }
        return Optional.empty();
    }

    private static Optional<Instant> time(JsonNode c, String name, boolean required) throws EarRejectedException {
        JsonNode v = c.get(name);
        if (v == null) {
            if (required) {
                throw new EarRejectedException(EarCheck.TIME, "token has no " + name);
            }
            return Optional.empty();
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0 || v.asLong() > 253402300799L) {
            throw new EarRejectedException(EarCheck.TIME, name + " must be a NumericDate (seconds since 1970)");
        }
        return Optional.of(Instant.ofEpochSecond(v.asLong()));
    }

    private static void unknown(JsonNode n, Set<String> known, String what) throws EarRejectedException {
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!known.contains(f)) {
                throw new EarRejectedException(EarCheck.CLAIMS, "unknown " + what + " '" + UntrustedText.forLog(f, 64)
                        + "'; known: " + new TreeSet<>(known));
            }
        }
    }
}
