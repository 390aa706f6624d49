package dev.attestmesh.relying;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The canonical JSON encoding of the mesh manifest (docs/relying-party.md, "Encoding"): UTF-8, no
 * insignificant whitespace, object members sorted by key (by UTF-16 code unit, which for the ASCII keys
 * used equals byte order), strings escaped only where JSON requires it ({@code "}, {@code \} and control
 * characters, the latter as lower-case <code>&#92;u00xx</code>), integers in decimal without exponent, and no
 * floating-point numbers. One value has exactly one encoding, so its SHA-256 is well defined.
 */
public final class CanonicalJson {
    private CanonicalJson() {}

    /**
     * @param value a {@code Map<String, ?>}, {@code List<?>}, {@code String}, {@code Long}/{@code Integer},
     *     {@code Boolean} or {@code null}, nested
     * @throws IllegalArgumentException for any other type (a float, a non-string key)
     */
    public static byte[] encode(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value);
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void write(StringBuilder sb, Object v) {
        switch (v) {
            case null -> sb.append("null");
            case String s -> string(sb, s);
            case Boolean b -> sb.append(b ? "true" : "false");
            case Long l -> sb.append(l.longValue());
            case Integer i -> sb.append(i.intValue());
            case Map<?, ?> m -> {
                TreeMap<String, Object> sorted = new TreeMap<>();
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!(e.getKey() instanceof String k)) {
                        throw new IllegalArgumentException("canonical JSON object keys must be strings, got " + e.getKey());
                    }
                    sorted.put(k, e.getValue());
                }
                sb.append('{');
                boolean first = true;
                for (Map.Entry<String, Object> e : sorted.entrySet()) {
                    if (!first) {
                        sb.append(',');
                    }
                    first = false;
                    string(sb, e.getKey());
                    sb.append(':');
                    write(sb, e.getValue());
                }
                sb.append('}');
            }
            case List<?> l -> {
                sb.append('[');
                for (int i = 0; i < l.size(); i++) {
                    if (i > 0) {
                        sb.append(',');
                    }
                    write(sb, l.get(i));
                }
                sb.append(']');
            }
            default -> throw new IllegalArgumentException("canonical JSON has no encoding for " + v.getClass().getName());
        }
    }

    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        sb.append('"');
    }

    /** Re-encodes a value parsed by Jackson (objects, arrays, strings, integral numbers, booleans, null). */
    public static Object fromJackson(com.fasterxml.jackson.databind.JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isObject()) {
            Map<String, Object> m = new TreeMap<>();
            n.properties().forEach(e -> m.put(e.getKey(), fromJackson(e.getValue())));
            return m;
        }
        if (n.isArray()) {
            List<Object> l = new java.util.ArrayList<>();
            n.forEach(x -> l.add(fromJackson(x)));
            return l;
        }
        if (n.isTextual()) {
            return n.asText();
        }
        if (n.isBoolean()) {
            return n.asBoolean();
        }
        if (n.isIntegralNumber() && n.canConvertToLong()) {
            return n.asLong();
        }
        throw new IllegalArgumentException("not canonical JSON: a " + n.getNodeType() + " value");
    }
}
