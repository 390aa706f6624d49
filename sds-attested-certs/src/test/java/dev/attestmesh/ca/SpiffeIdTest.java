package dev.attestmesh.ca;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SpiffeIdTest {
    @Test
    void buildsNodeAndWorkloadIds() {
        assertEquals("spiffe://mesh.example/node/n-1.a_b", SpiffeId.forNode("mesh.example", "n-1.a_b").uri());
        assertEquals("spiffe://td/ns/shop/sa/web", SpiffeId.forWorkload("td", "shop", "web").uri());
        assertEquals(SpiffeId.forWorkload("td", "shop", "web"), SpiffeId.parse("spiffe://td/ns/shop/sa/web"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "http://td/x|must start with 'spiffe://'",
        "SPIFFE://td/x|must start with 'spiffe://'",
        "spiffe:///x|trust domain is empty",
        "spiffe://td|has no path",
        "spiffe://TD/x|lower-case",
        "spiffe://td:8080/x|lower-case",
        "spiffe://user@td/x|lower-case",
        "spiffe://td/x/|must not end with '/'",
        "spiffe://td/a//b|empty segment",
        "spiffe://td/a/../b|must not be '.' or '..'",
        "spiffe://td/a%20b|no percent-encoding",
        "spiffe://td/a?q=1|no percent-encoding",
        "spiffe://td/a#f|no percent-encoding"})
    void rejectsIdsThatBreakTheSpiffeRules(String uri, String problem) {
        var e = assertThrows(IllegalArgumentException.class, () -> SpiffeId.parse(uri));
        assertTrue(e.getMessage().contains(problem), e.getMessage());
    }

    @Test
    void validatesNodeIds() {
        assertThrows(IllegalArgumentException.class, () -> SpiffeId.forNode("td", ""));
        assertThrows(IllegalArgumentException.class, () -> SpiffeId.forNode("td", "a/b"));
        assertThrows(IllegalArgumentException.class, () -> SpiffeId.forNode("td", "x".repeat(129)));
        assertThrows(IllegalArgumentException.class, () -> SpiffeId.forNode("td", ".."));
        assertEquals(128, SpiffeId.forNode("td", "x".repeat(128)).path().length() - "/node/".length());
    }
}
