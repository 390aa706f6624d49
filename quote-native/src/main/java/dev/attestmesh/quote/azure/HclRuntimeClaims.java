package dev.attestmesh.quote.azure;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.attestmesh.quote.EvidenceParseException;
import java.io.IOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.RSAPublicKeySpec;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Azure paravisor's runtime claims (the HCL report's variable data, a JSON document), parsed
 * <b>untrusted</b>: it becomes trustworthy only once the SNP report that hashes it verified.
 *
 * <p>Only what AttestMesh uses is read: the vTPM attestation key (the JWK with {@code kid}
 * "HCLAkPub", RSA) and the boolean flags of {@code vm-configuration}.
 *
 * @param attestationKey the vTPM AK that signs TPM2 quotes
 * @param vmConfiguration {@code vm-configuration} booleans by name (e.g. {@code secure-boot})
 */
public record HclRuntimeClaims(RSAPublicKey attestationKey, Map<String, Boolean> vmConfiguration) {
    /** The runtime claims' JWK id of the attestation key. */
    public static final String AK_KID = "HCLAkPub";
    private static final String STRUCTURE = "HCL runtime claims";
    private static final int MAX_BYTES = 64 * 1024;
    private static final int MIN_RSA_BITS = 2048;
    private static final int MAX_RSA_BITS = 4096;
    private static final ObjectMapper JSON = new ObjectMapper(com.fasterxml.jackson.core.JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(16).maxStringLength(MAX_BYTES).build())
            .build());

    public HclRuntimeClaims {
        vmConfiguration = Map.copyOf(vmConfiguration);
    }

    /** Parses the runtime claims; refuses a document without a usable RSA attestation key. */
    public static HclRuntimeClaims parse(byte[] json) throws EvidenceParseException {
        if (json.length > MAX_BYTES) {
            throw new EvidenceParseException(STRUCTURE, -1, json.length + " bytes; at most " + MAX_BYTES);
        }
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new EvidenceParseException(STRUCTURE, -1, "not valid JSON");
        }
        if (root == null || !root.isObject()) {
            throw new EvidenceParseException(STRUCTURE, -1, "not a JSON object");
        }
        JsonNode keys = root.get("keys");
        if (keys == null || !keys.isArray()) {
            throw new EvidenceParseException(STRUCTURE, -1, "no 'keys' array");
        }
        RSAPublicKey ak = null;
        for (JsonNode k : keys) {
            if (k.isObject() && AK_KID.equals(k.path("kid").asText())) {
                if (ak != null) {
                    throw new EvidenceParseException(STRUCTURE, -1, "two keys named " + AK_KID);
                }
                ak = rsa(k);
            }
        }
        if (ak == null) {
            throw new EvidenceParseException(STRUCTURE, -1, "no key with kid '" + AK_KID + "' (the vTPM attestation key)");
        }
        Map<String, Boolean> config = new LinkedHashMap<>();
        JsonNode vm = root.get("vm-configuration");
        if (vm != null && vm.isObject()) {
            vm.fields().forEachRemaining(e -> {
                if (e.getValue().isBoolean() && e.getKey().matches("[a-z][a-z0-9-]{0,40}")) {
                    config.put(e.getKey(), e.getValue().booleanValue());
                }
            });
        }
        return new HclRuntimeClaims(ak, config);
    }

    private static RSAPublicKey rsa(JsonNode k) throws EvidenceParseException {
        if (!"RSA".equals(k.path("kty").asText())) {
            throw new EvidenceParseException(STRUCTURE, -1, AK_KID + " is not an RSA key (kty '"
                    + truncate(k.path("kty").asText()) + "')");
        }
        BigInteger n = unsigned(k.path("n"), "n");
        BigInteger e = unsigned(k.path("e"), "e");
        if (n.bitLength() < MIN_RSA_BITS || n.bitLength() > MAX_RSA_BITS) {
            throw new EvidenceParseException(STRUCTURE, -1, AK_KID + " modulus is " + n.bitLength() + " bits; "
                    + MIN_RSA_BITS + " to " + MAX_RSA_BITS + " accepted");
        }
        if (e.bitLength() > 32 || !e.testBit(0) || e.compareTo(BigInteger.valueOf(3)) < 0) {
            throw new EvidenceParseException(STRUCTURE, -1, AK_KID + " has an invalid public exponent");
        }
        try {
            return (RSAPublicKey) KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(n, e));
        } catch (GeneralSecurityException ex) {
            throw new EvidenceParseException(STRUCTURE, -1, AK_KID + " is not a valid RSA key");
        }
    }

    private static BigInteger unsigned(JsonNode v, String name) throws EvidenceParseException {
        if (!v.isTextual()) {
            throw new EvidenceParseException(STRUCTURE, -1, AK_KID + "." + name + " is missing or not a string");
        }
        try {
            byte[] b = Base64.getUrlDecoder().decode(v.textValue());
            return new BigInteger(1, b);
        } catch (IllegalArgumentException ex) {
            throw new EvidenceParseException(STRUCTURE, -1, AK_KID + "." + name + " is not base64url");
        }
    }

    private static String truncate(String s) {
        return s.length() > 16 ? s.substring(0, 16) + "..." : s;
    }
}
