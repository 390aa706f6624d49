package dev.attestmesh.agent.coco;

import com.fasterxml.jackson.databind.JsonNode;
import dev.attestmesh.quote.EvidenceParseException;
import java.util.Base64;
import java.util.HexFormat;

/** Bounded readers for the byte strings of the attestation-agent's JSON (arrays of integers, base64, hex). */
final class CocoJson {
    private CocoJson() {}

    static JsonNode required(JsonNode n, String field, String structure) throws EvidenceParseException {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            throw new EvidenceParseException(structure, -1, "missing field '" + field + "'");
        }
        return v;
    }

    /** An array of integers 0..255 of {@code min}..{@code max} elements. */
    static byte[] byteArray(JsonNode n, String field, int min, int max, String structure)
            throws EvidenceParseException {
        if (!n.isArray()) {
            throw new EvidenceParseException(structure, -1, field + " must be an array of byte values");
        }
        if (n.size() < min || n.size() > max) {
            throw new EvidenceParseException(structure, -1, field + " has " + n.size() + " bytes; expected "
                    + (min == max ? String.valueOf(min) : min + ".." + max));
        }
        byte[] out = new byte[n.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode e = n.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToInt() || e.asInt() < 0 || e.asInt() > 255) {
                throw new EvidenceParseException(structure, -1, field + "[" + i + "] is not a byte value 0..255");
            }
            out[i] = (byte) e.asInt();
        }
        return out;
    }

    static byte[] base64(JsonNode n, String field, int maxDecoded, boolean urlSafe, String structure)
            throws EvidenceParseException {
        String s = text(n, field, maxDecoded / 3 * 4 + 8, structure);
        try {
            byte[] b = (urlSafe ? Base64.getUrlDecoder() : Base64.getDecoder()).decode(s);
            if (b.length > maxDecoded) {
                throw new EvidenceParseException(structure, -1, field + " is " + b.length + " bytes; at most "
                        + maxDecoded);
            }
            return b;
        } catch (IllegalArgumentException e) {
            throw new EvidenceParseException(structure, -1, field + " is not " + (urlSafe ? "URL-safe " : "")
                    + "base64");
        }
    }

    static byte[] hex(JsonNode n, String field, int maxDecoded, String structure) throws EvidenceParseException {
        String s = text(n, field, maxDecoded * 2, structure);
        try {
            return HexFormat.of().parseHex(s);
        } catch (IllegalArgumentException e) {
            throw new EvidenceParseException(structure, -1, field + " is not a hex string");
        }
    }

    static String text(JsonNode n, String field, int maxChars, String structure) throws EvidenceParseException {
        if (!n.isTextual()) {
            throw new EvidenceParseException(structure, -1, field + " must be a string");
        }
        if (n.textValue().length() > maxChars) {
            throw new EvidenceParseException(structure, -1, field + " is " + n.textValue().length()
                    + " characters; at most " + maxChars);
        }
        return n.textValue();
    }

    static String shortName(String f) {
        String s = f.length() > 40 ? f.substring(0, 40) + "..." : f;
        return TtrpcClient.printable(s, 44);
    }
}
