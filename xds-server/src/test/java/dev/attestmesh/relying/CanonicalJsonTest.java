package dev.attestmesh.relying;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CanonicalJsonTest {
    @Test
    void sortsKeysDropsWhitespaceAndEscapesOnlyWhatJsonRequires() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("b", List.of(1L, true, "x\"y\\z\n"));
        m.put("a", null);
        m.put("c", "é\u0001");
        assertEquals("{\"a\":null,\"b\":[1,true,\"x\\\"y\\\\z\\u000a\"],\"c\":\"é\\u0001\"}",
                new String(CanonicalJson.encode(m), StandardCharsets.UTF_8));
    }

    @Test
    void roundTripsThroughAParserToTheSameBytes() throws Exception {
        byte[] b = CanonicalJson.encode(Map.of("z", Map.of("y", 2L, "x", List.of()), "a", "text"));
        byte[] again = CanonicalJson.encode(CanonicalJson.fromJackson(new ObjectMapper().readTree(b)));
        assertEquals(true, Arrays.equals(b, again));
    }

    @Test
    void refusesValuesWithoutACanonicalForm() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> CanonicalJson.encode(Map.of("f", 1.5)));
        assertThrows(IllegalArgumentException.class, () -> CanonicalJson.fromJackson(new ObjectMapper().readTree("{\"f\":1.5}")));
    }
}
