package dev.attestmesh.input;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class UntrustedTextTest {
    @Test
    void forLogKeepsPlainTextAndReplacesEverythingThatCouldForgeOrHideALogLine() {
        assertEquals("node-1.example:8443 (ok)", UntrustedText.forLog("node-1.example:8443 (ok)"));
        assertEquals("a?FAKE ERROR line", UntrustedText.forLog("a\nFAKE ERROR line"));
        assertEquals("a?b?c?d", UntrustedText.forLog("a\rb\u0000c\u202Ed"));
        assertEquals("??jndi:ldap://x?", UntrustedText.forLog("${jndi:ldap://x}"));
        assertEquals("(none)", UntrustedText.forLog(null));
    }

    @Test
    void forLogBoundsTheLength() {
        assertEquals("x".repeat(128) + "...", UntrustedText.forLog("x".repeat(10_000)));
        assertEquals("xxxx...", UntrustedText.forLog("xxxxx", 4));
        assertEquals("xxxx", UntrustedText.forLog("xxxx", 4));
    }

    @Test
    void lineProblemNamesTheFieldAndTheLimit() {
        assertEquals(Optional.empty(), UntrustedText.lineProblem("reason", "r".repeat(1024), 1024));
        assertEquals(Optional.empty(), UntrustedText.lineProblem("reason", "", 1024));
        assertEquals(Optional.empty(), UntrustedText.lineProblem("reason", "Schl\u00fcssel \u2013 \uD83D\uDD12", 1024));
        assertEquals(Optional.of("reason is 1025 characters long; at most 1024 are accepted"),
                UntrustedText.lineProblem("reason", "r".repeat(1025), 1024));
        String p = UntrustedText.lineProblem("reason", "ab\ncd", 1024).orElseThrow();
        assertTrue(p.startsWith("reason contains control characters") && p.contains("position 2") && p.contains("1024"), p);
    }

    @ParameterizedTest
    @ValueSource(strings = {"\n", "\r", "\t", "\u0000", "\u007F", "\u0085", "\u200B", "\u202E", "\u2028", "\u2029",
            "\uD800", "\uDC00", "\uFFFE", "\uFFFF", "\uD800x"})
    void lineProblemRefusesControlsFormatCharactersSeparatorsAndUnpairedSurrogates(String bad) {
        assertTrue(UntrustedText.lineProblem("f", "a" + bad + "b", 100).isPresent(), Integer.toHexString(bad.charAt(0)));
    }

    @Test
    void fitLeavesCleanTextThatFitsAlone() {
        String clean = "revoked by revocation rule 1: compromised";
        assertSame(clean, UntrustedText.fit(clean, 1024));
    }

    @Test
    void fitBoundsComposedTextToItsColumnAndReplacesWhatAColumnMustNotHold() {
        String composed = "revoked by revocation rule 6f0c (node): " + "r".repeat(1024);
        String fitted = UntrustedText.fit(composed, 1024);
        assertEquals(1024, fitted.length());
        assertTrue(fitted.startsWith("revoked by revocation rule 6f0c (node): ") && fitted.endsWith("..."));
        assertEquals("a?b?c", UntrustedText.fit("a\u0000b\nc", 1024));
        assertFalse(UntrustedText.fit("x\uD800", 10).contains("\uD800"));
        assertEquals("", UntrustedText.fit(null, 10));
    }

    @Test
    void fitNeverCutsASurrogatePair() {
        String lock = "\uD83D\uDD12";
        String fitted = UntrustedText.fit("abcdef" + lock + "ghij", 10); // the pair sits at 6-7 of 7 kept
        assertEquals("abcdef...", fitted);
        assertEquals("abcd" + lock + "...", UntrustedText.fit("abcd" + lock + "efghij", 9));
    }

    @Test
    void fitRefusesAColumnTooSmallToSayItWasCut() {
        assertThrows(IllegalArgumentException.class, () -> UntrustedText.fit("abc", 3));
    }
}
