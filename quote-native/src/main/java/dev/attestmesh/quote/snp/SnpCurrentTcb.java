package dev.attestmesh.quote.snp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Reads the operator's statement of AMD's current TCB per product (from AMD's security bulletins;
 * KDS publishes no such endpoint), which {@link SnpVerifierOptions#currentTcb()} judges reports against:
 *
 * <pre>{@code
 * {"Milan": {"bootloader": 4, "tee": 0, "snp": 23, "microcode": 213},
 *  "Turin": {"bootloader": 1, "tee": 1, "snp": 1, "microcode": 1, "fmc": 1}}
 * }</pre>
 */
public final class SnpCurrentTcb {
    private static final Set<String> FIELDS = Set.of("bootloader", "tee", "snp", "microcode", "fmc");
    /** Largest file read. */
    public static final int MAX_BYTES = 64 * 1024;

    private SnpCurrentTcb() {
    }

    /** @throws IllegalArgumentException naming the product and field that is wrong */
    public static Map<SnpProduct, SnpTcb> parse(byte[] json, String source) {
        if (json.length > MAX_BYTES) {
            throw new IllegalArgumentException(source + ": larger than " + MAX_BYTES + " bytes");
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException(source + ": not valid JSON");
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(source + ": must be an object of product name to TCB components");
        }
        Map<SnpProduct, SnpTcb> out = new EnumMap<>(SnpProduct.class);
        for (Iterator<String> it = root.fieldNames(); it.hasNext();) {
            String name = it.next();
            SnpProduct product = null;
            for (SnpProduct p : SnpProduct.values()) {
                if (p.kdsName().equals(name)) {
                    product = p;
                }
            }
            if (product == null) {
                throw new IllegalArgumentException(source + ": unknown product '" + name + "' (Milan, Genoa, Turin)");
            }
            JsonNode t = root.get(name);
            for (Iterator<String> f = t.fieldNames(); f.hasNext();) {
                String field = f.next();
                if (!FIELDS.contains(field)) {
                    throw new IllegalArgumentException(source + ": " + name + "." + field + " is not a TCB component " + FIELDS);
                }
            }
            boolean turin = product.turinTcbLayout();
            if (turin != t.has("fmc")) {
                throw new IllegalArgumentException(source + ": " + name + (turin ? " needs" : " has no") + " an fmc level");
            }
            out.put(product, SnpTcb.of(level(t, "bootloader", name, source), level(t, "tee", name, source),
                    level(t, "snp", name, source), level(t, "microcode", name, source),
                    turin ? OptionalInt.of(level(t, "fmc", name, source)) : OptionalInt.empty()));
        }
        return out;
    }

    private static int level(JsonNode t, String field, String product, String source) {
        JsonNode v = t.get(field);
        if (v == null || !v.isIntegralNumber() || v.asInt() < 0 || v.asInt() > 255) {
            throw new IllegalArgumentException(source + ": " + product + "." + field + " must be an integer 0-255");
        }
        return v.asInt();
    }
}
