package dev.attestmesh.quote.collateral;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.attestmesh.quote.TcbStatus;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** Field readers over a Jackson tree that turn every shape problem into a {@link CollateralParseException}. */
final class CollateralJson {
    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private CollateralJson() {}

    static JsonNode tree(byte[] body, String what) throws CollateralParseException {
        try {
            JsonNode n = MAPPER.readTree(body);
            if (n == null || !n.isObject()) {
                throw new CollateralParseException(what + " is not a JSON object");
            }
            return n;
        } catch (IOException | RuntimeException e) {
            throw new CollateralParseException(what + " is not valid JSON: " + e.getMessage(), e);
        }
    }

    static JsonNode field(JsonNode n, String name, String what) throws CollateralParseException {
        JsonNode v = n.get(name);
        if (v == null || v.isNull()) {
            throw new CollateralParseException(what + " lacks '" + name + "'");
        }
        return v;
    }

    static String text(JsonNode n, String name, String what) throws CollateralParseException {
        JsonNode v = field(n, name, what);
        if (!v.isTextual()) {
            throw new CollateralParseException(what + " field '" + name + "' must be a string");
        }
        return v.textValue();
    }

    static int integer(JsonNode n, String name, String what) throws CollateralParseException {
        JsonNode v = field(n, name, what);
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 0) {
            throw new CollateralParseException(what + " field '" + name + "' must be a non-negative integer");
        }
        return v.intValue();
    }

    static Instant instant(JsonNode n, String name, String what) throws CollateralParseException {
        try {
            return Instant.parse(text(n, name, what));
        } catch (DateTimeParseException e) {
            throw new CollateralParseException(what + " field '" + name + "' is not an ISO-8601 UTC time");
        }
    }

    static byte[] hex(JsonNode n, String name, int length, String what) throws CollateralParseException {
        String t = text(n, name, what);
        if (t.length() != 2 * length) {
            throw new CollateralParseException(what + " field '" + name + "' must be " + length + " bytes of hex");
        }
        try {
            return HexFormat.of().parseHex(t);
        } catch (IllegalArgumentException e) {
            throw new CollateralParseException(what + " field '" + name + "' is not hex");
        }
    }

    static TcbStatus status(JsonNode n, String what) throws CollateralParseException {
        JsonNode v = n.has("tcbStatus") ? n.get("tcbStatus") : n.get("status");
        if (v == null || !v.isTextual()) {
            throw new CollateralParseException(what + " TCB level lacks 'tcbStatus'");
        }
        try {
            return TcbStatus.fromIntelName(v.textValue());
        } catch (IllegalArgumentException e) {
            throw new CollateralParseException(what + " has unknown TCB status '" + v.textValue() + "'");
        }
    }

    static List<String> advisoryIds(JsonNode n, String what) throws CollateralParseException {
        JsonNode v = n.get("advisoryIDs");
        if (v == null) {
            return List.of();
        }
        if (!v.isArray()) {
            throw new CollateralParseException(what + " 'advisoryIDs' must be an array");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode a : v) {
            if (!a.isTextual()) {
                throw new CollateralParseException(what + " 'advisoryIDs' must contain strings");
            }
            out.add(a.textValue());
        }
        return List.copyOf(out);
    }

    static JsonNode array(JsonNode n, String name, String what) throws CollateralParseException {
        JsonNode v = field(n, name, what);
        if (!v.isArray()) {
            throw new CollateralParseException(what + " field '" + name + "' must be an array");
        }
        return v;
    }

    static List<IsvSvnTcbLevel> isvSvnLevels(JsonNode n, String what) throws CollateralParseException {
        List<IsvSvnTcbLevel> out = new ArrayList<>();
        for (JsonNode level : array(n, "tcbLevels", what)) {
            JsonNode tcb = field(level, "tcb", what + " TCB level");
            out.add(new IsvSvnTcbLevel(integer(tcb, "isvsvn", what + " TCB level"), status(level, what),
                    advisoryIds(level, what)));
        }
        return List.copyOf(out);
    }
}
