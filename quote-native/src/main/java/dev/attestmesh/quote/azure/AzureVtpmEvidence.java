package dev.attestmesh.quote.azure;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.attestmesh.quote.EvidenceParseException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A parsed, <b>untrusted</b> Azure SEV-SNP vTPM evidence document, in the JSON form Trustee's
 * {@code az-snp-vtpm} attester produces (and AttestMesh's collector writes):
 *
 * <pre>{@code
 * {"quote": {"message": [..TPMS_ATTEST bytes..], "pcrs": [[..32 bytes..], ...], "signature": [..]},
 *  "report": [..HCL report bytes..],
 *  "vcek": "-----BEGIN CERTIFICATE-----..."}      (optional)
 * }</pre>
 *
 * Byte strings are JSON arrays of integers 0..255, as Trustee serialises them. Sizes are bounded
 * before anything is decoded; unknown fields are refused.
 *
 * @param quoteMessage the TPMS_ATTEST the vTPM signed
 * @param pcrs the SHA-256 PCR values the quote covers, in selection order
 * @param quoteSignature the raw RSASSA-PKCS1-v1_5 signature over {@code quoteMessage}
 * @param hclReport the HCL report read from the vTPM's NV index 0x01400001
 * @param vcekPem the VCEK certificate (PEM) when the attester included it
 */
public record AzureVtpmEvidence(byte[] quoteMessage, List<byte[]> pcrs, byte[] quoteSignature, byte[] hclReport,
        Optional<String> vcekPem) {
    /** Largest evidence document accepted (the real one is about 36 KiB). */
    public static final int MAX_DOCUMENT_BYTES = 256 * 1024;
    /** Largest HCL report accepted (real ones are 2600 bytes). */
    public static final int MAX_HCL_REPORT = 16 * 1024;
    /** Largest quote signature accepted (RSA-4096). */
    public static final int MAX_SIGNATURE = 512;
    /** Most PCR values accepted (a PC-client bank has 24). */
    public static final int MAX_PCRS = 32;
    // A VCEK alone is about 1.9 KiB of PEM; with its ASK and ARK about 6.5 KiB.
    private static final int MAX_VCEK_PEM = 16 * 1024;
    private static final String STRUCTURE = "Azure vTPM evidence";
    private static final ObjectMapper JSON = new ObjectMapper(com.fasterxml.jackson.core.JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(8).maxNumberLength(8)
                    .maxStringLength(MAX_VCEK_PEM).build())
            .build())
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    public AzureVtpmEvidence {
        quoteMessage = quoteMessage.clone();
        pcrs = pcrs.stream().map(byte[]::clone).toList();
        quoteSignature = quoteSignature.clone();
        hclReport = hclReport.clone();
        Objects.requireNonNull(vcekPem, "vcekPem");
    }

    /** Whether {@code bytes} look like this JSON format (an object with a "quote" member), for format detection. */
    public static boolean looksLikeAzureVtpm(byte[] bytes) {
        int i = 0;
        while (i < bytes.length && Character.isWhitespace(bytes[i])) {
            i++;
        }
        if (i >= bytes.length || bytes[i] != '{') {
            return false;
        }
        String head = new String(bytes, i, Math.min(bytes.length - i, 4096), StandardCharsets.UTF_8);
        return head.contains("\"quote\"") && head.contains("\"message\"");
    }

    /** Parses the JSON document. */
    public static AzureVtpmEvidence parse(byte[] json) throws EvidenceParseException {
        if (json.length > MAX_DOCUMENT_BYTES) {
            throw new EvidenceParseException(STRUCTURE, -1, json.length + " bytes; at most " + MAX_DOCUMENT_BYTES
                    + " accepted");
        }
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new EvidenceParseException(STRUCTURE, -1, "not valid JSON: " + firstLine(e.getMessage()));
        }
        if (root == null || !root.isObject()) {
            throw new EvidenceParseException(STRUCTURE, -1, "must be a JSON object with quote, report and vcek");
        }
        onlyFields(root, "", Set.of("quote", "report", "vcek"));
        JsonNode quote = required(root, "quote");
        if (!quote.isObject()) {
            throw new EvidenceParseException(STRUCTURE, -1, "quote must be an object with message, pcrs and signature");
        }
        onlyFields(quote, "quote.", Set.of("message", "pcrs", "signature"));
        byte[] message = byteArray(required(quote, "message"), "quote.message", dev.attestmesh.quote.tpm.TpmsAttest.MAX_LENGTH);
        byte[] signature = byteArray(required(quote, "signature"), "quote.signature", MAX_SIGNATURE);
        JsonNode pcrsNode = required(quote, "pcrs");
        if (!pcrsNode.isArray() || pcrsNode.size() > MAX_PCRS) {
            throw new EvidenceParseException(STRUCTURE, -1, "quote.pcrs must be an array of at most " + MAX_PCRS
                    + " PCR values");
        }
        List<byte[]> pcrs = new ArrayList<>();
        for (int i = 0; i < pcrsNode.size(); i++) {
            byte[] pcr = byteArray(pcrsNode.get(i), "quote.pcrs[" + i + "]", 32);
            if (pcr.length != 32) {
                throw new EvidenceParseException(STRUCTURE, -1, "quote.pcrs[" + i + "] is " + pcr.length
                        + " bytes; SHA-256 PCR values are 32");
            }
            pcrs.add(pcr);
        }
        byte[] report = byteArray(required(root, "report"), "report", MAX_HCL_REPORT);
        Optional<String> vcek = Optional.empty();
        JsonNode v = root.get("vcek");
        if (v != null && !v.isNull()) {
            if (!v.isTextual()) {
                throw new EvidenceParseException(STRUCTURE, -1, "vcek must be a PEM string");
            }
            if (!v.textValue().isBlank()) {
                vcek = Optional.of(v.textValue());
            }
        }
        return new AzureVtpmEvidence(message, pcrs, signature, report, vcek);
    }

    /** The JSON document, in the layout {@link #parse} reads. */
    public byte[] toJson() {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        ObjectNode quote = root.putObject("quote");
        quote.set("message", array(quoteMessage));
        ArrayNode p = quote.putArray("pcrs");
        pcrs.forEach(b -> p.add(array(b)));
        quote.set("signature", array(quoteSignature));
        root.set("report", array(hclReport));
        vcekPem.ifPresent(s -> root.put("vcek", s));
        try {
            return JSON.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new IllegalStateException("serialising an in-memory JSON tree cannot fail", e);
        }
    }

    private static ArrayNode array(byte[] b) {
        ArrayNode a = JsonNodeFactory.instance.arrayNode(b.length);
        for (byte x : b) {
            a.add(x & 0xff);
        }
        return a;
    }

    private static JsonNode required(JsonNode n, String field) throws EvidenceParseException {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            throw new EvidenceParseException(STRUCTURE, -1, "missing field '" + field + "'");
        }
        return v;
    }

    private static void onlyFields(JsonNode n, String prefix, Set<String> allowed) throws EvidenceParseException {
        for (Iterator<String> it = n.fieldNames(); it.hasNext();) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw new EvidenceParseException(STRUCTURE, -1, "unknown field '" + prefix
                        + (f.length() > 40 ? f.substring(0, 40) + "..." : f) + "'; expected " + allowed);
            }
        }
    }

    private static byte[] byteArray(JsonNode n, String field, int max) throws EvidenceParseException {
        if (!n.isArray()) {
            throw new EvidenceParseException(STRUCTURE, -1, field + " must be an array of byte values");
        }
        if (n.size() > max) {
            throw new EvidenceParseException(STRUCTURE, -1, field + " has " + n.size() + " bytes; at most " + max);
        }
        byte[] out = new byte[n.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode e = n.get(i);
            if (!e.isIntegralNumber() || e.asLong() < 0 || e.asLong() > 255) {
                throw new EvidenceParseException(STRUCTURE, -1, field + "[" + i + "] is not a byte value 0..255");
            }
            out[i] = (byte) e.asInt();
        }
        return out;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    @Override
    public byte[] quoteMessage() {
        return quoteMessage.clone();
    }

    @Override
    public List<byte[]> pcrs() {
        return pcrs.stream().map(byte[]::clone).toList();
    }

    @Override
    public byte[] quoteSignature() {
        return quoteSignature.clone();
    }

    @Override
    public byte[] hclReport() {
        return hclReport.clone();
    }
}
