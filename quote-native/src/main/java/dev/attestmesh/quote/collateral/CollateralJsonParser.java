package dev.attestmesh.quote.collateral;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses the JSON shapes collateral is delivered in, keeping the signed bodies byte for byte:
 *
 * <ul>
 *   <li>Intel PCS / PCCS responses {@code {"tcbInfo":{...},"signature":"hex"}} and {@code
 *       {"enclaveIdentity":{...},"signature":"hex"}}: the body is sliced out of the raw response
 *       bytes at the JSON value's own offsets, never re-serialised, because the signature covers
 *       exactly those bytes;
 *   <li>dcap-qvl's {@code QuoteCollateralV3} JSON, where the bodies are JSON strings (their UTF-8
 *       bytes are the signed bytes), signatures and CRLs are hex, and issuer chains are PEM.
 * </ul>
 *
 * Duplicate keys are rejected, so no two readers of the same document can see different values.
 * Bad input raises only {@link CollateralParseException}.
 */
public final class CollateralJsonParser {
    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private CollateralJsonParser() {}

    /** A PCS TCB Info response; {@code issuerChain} comes from the {@code TCB-Info-Issuer-Chain} header. */
    public static SignedCollateral pcsTcbInfo(byte[] response, List<X509Certificate> issuerChain)
            throws CollateralParseException {
        return pcsSigned(response, "tcbInfo", issuerChain);
    }

    /** A PCS enclave (QE) identity response; {@code issuerChain} from {@code SGX-Enclave-Identity-Issuer-Chain}. */
    public static SignedCollateral pcsEnclaveIdentity(byte[] response, List<X509Certificate> issuerChain)
            throws CollateralParseException {
        return pcsSigned(response, "enclaveIdentity", issuerChain);
    }

    private static SignedCollateral pcsSigned(byte[] response, String bodyField, List<X509Certificate> chain)
            throws CollateralParseException {
        byte[] body = null;
        String signature = null;
        try (JsonParser p = JSON.createParser(response)) {
            expect(p.nextToken(), JsonToken.START_OBJECT, "PCS response");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if (bodyField.equals(name)) {
                    expect(value, JsonToken.START_OBJECT, "'" + bodyField + "'");
                    long start = p.currentTokenLocation().getByteOffset();
                    p.skipChildren();
                    long end = p.currentLocation().getByteOffset();
                    if (start < 0 || end > response.length || end <= start) {
                        throw new CollateralParseException("could not locate the bytes of '" + bodyField + "'");
                    }
                    body = Arrays.copyOfRange(response, (int) start, (int) end);
                } else if ("signature".equals(name)) {
                    expect(value, JsonToken.VALUE_STRING, "'signature'");
                    signature = p.getText();
                } else {
                    p.skipChildren();
                }
            }
            if (p.currentToken() != JsonToken.END_OBJECT) {
                throw new CollateralParseException("PCS response is not a single JSON object");
            }
        } catch (IOException | RuntimeException e) {
            throw new CollateralParseException("PCS response is not valid JSON: " + e.getMessage(), e);
        }
        if (body == null || signature == null) {
            throw new CollateralParseException("PCS response lacks '" + bodyField + "' or 'signature'");
        }
        return new SignedCollateral(body, signature(signature), chain);
    }

    /**
     * dcap-qvl's {@code QuoteCollateralV3}: {@code tcb_info}, {@code tcb_info_signature}, {@code
     * tcb_info_issuer_chain}, {@code qe_identity}, {@code qe_identity_signature}, {@code
     * qe_identity_issuer_chain}, {@code pck_crl}, {@code pck_crl_issuer_chain}, {@code root_ca_crl}.
     */
    public static QuoteCollateral quoteCollateralV3(byte[] json) throws CollateralParseException {
        Map<String, String> f = new HashMap<>();
        try (JsonParser p = JSON.createParser(json)) {
            expect(p.nextToken(), JsonToken.START_OBJECT, "collateral");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if (value == JsonToken.VALUE_STRING) {
                    f.put(name, p.getText());
                } else {
                    p.skipChildren();
                }
            }
            if (p.currentToken() != JsonToken.END_OBJECT) {
                throw new CollateralParseException("collateral is not a single JSON object");
            }
        } catch (IOException | RuntimeException e) {
            throw new CollateralParseException("collateral is not valid JSON: " + e.getMessage(), e);
        }
        SignedCollateral tcb = new SignedCollateral(utf8(required(f, "tcb_info")),
                signature(required(f, "tcb_info_signature")), chain(f, "tcb_info_issuer_chain"));
        SignedCollateral qe = new SignedCollateral(utf8(required(f, "qe_identity")),
                signature(required(f, "qe_identity_signature")), chain(f, "qe_identity_issuer_chain"));
        PckCrl pckCrl = new PckCrl(CollateralEncodings.crl(utf8(required(f, "pck_crl"))), chain(f, "pck_crl_issuer_chain"));
        RootCaCrl root = new RootCaCrl(CollateralEncodings.crl(utf8(required(f, "root_ca_crl"))));
        return new QuoteCollateral(tcb, qe, pckCrl, root);
    }

    private static List<X509Certificate> chain(Map<String, String> f, String key) throws CollateralParseException {
        String v = f.get(key);
        return v == null || v.isBlank() ? List.of() : CollateralEncodings.certificateChain(v);
    }

    private static String required(Map<String, String> f, String key) throws CollateralParseException {
        String v = f.get(key);
        if (v == null) {
            throw new CollateralParseException("collateral JSON lacks the string field '" + key + "'");
        }
        return v;
    }

    private static byte[] signature(String hex) throws CollateralParseException {
        byte[] sig = CollateralEncodings.hex(hex, "signature");
        if (sig.length != 64) {
            throw new CollateralParseException("signature must be 64 bytes of raw r||s, got " + sig.length);
        }
        return sig;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void expect(JsonToken actual, JsonToken expected, String what) throws CollateralParseException {
        if (actual != expected) {
            throw new CollateralParseException(what + " must be " + expected + " but is " + actual);
        }
    }
}
