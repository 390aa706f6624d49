package dev.attestmesh.authz.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

class UntrustedTextTest {
    @Test
    void quotedTextIsPrintableAsciiAndBounded() {
        String clean = "spiffe://mesh.example/node/a";
        assertSame(clean, UntrustedText.quote(clean), "clean text is not copied");
        assertEquals("a?b?c??d", UntrustedText.quote("a\nb\u0000c\u00e9\u2028d"));
        String quoted = UntrustedText.quote("x".repeat(1000));
        assertEquals(UntrustedText.MAX_QUOTED_CHARS, quoted.length());
        assertEquals("...", quoted.substring(quoted.length() - 3));
    }

    @Test
    void boundedReasonsKeepReadableTextButNoControlCharacters() {
        assertEquals("revoked: \u00e9t\u00e9 ?forged", UntrustedText.bound("revoked: \u00e9t\u00e9 \nforged"));
        assertEquals("a?b", UntrustedText.bound("a\u202Eb"), "bidirectional overrides are format characters");
        String bounded = UntrustedText.bound("r".repeat(5000));
        assertEquals(UntrustedText.MAX_REASON_CHARS, bounded.length());
        assertEquals("rrr...", bounded.substring(bounded.length() - 6));
    }
}
