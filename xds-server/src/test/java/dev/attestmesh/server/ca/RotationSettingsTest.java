package dev.attestmesh.server.ca;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.server.testing.SettableClock;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Reading and bounding the rotation settings, and when each rotation policy says an intermediate is due. */
class RotationSettingsTest {

    @Test
    void emptyValuesTakeTheDefaults() {
        RotationSettings s = RotationSettings.parse("", "", "", "", "");
        assertEquals(RotationSettings.DEFAULTS, s);
        assertEquals(Duration.ofDays(30), s.serverCertTtl());
        assertEquals(Duration.ofDays(10), s.serverCertRenewBefore(), "a third of the TTL");
        assertInstanceOf(IntermediateRotationPolicy.WhenThirdLeft.class, s.intermediateRotation());
        assertEquals(Duration.ofDays(7), s.intermediateOverlap());
        assertEquals(Duration.ofMinutes(1), s.checkInterval());
    }

    @Test
    void readsShortAndIsoDurationsAndTheRotationForms() {
        RotationSettings s = RotationSettings.parse("12h", "PT3H", "90d", "P2D", "500ms");
        assertEquals(Duration.ofHours(12), s.serverCertTtl());
        assertEquals(Duration.ofHours(3), s.serverCertRenewBefore());
        assertEquals(new IntermediateRotationPolicy.Every(Duration.ofDays(90)), s.intermediateRotation());
        assertEquals(Duration.ofDays(2), s.intermediateOverlap());
        assertEquals(Duration.ofMillis(500), s.checkInterval());
        assertEquals(Duration.ofHours(4), RotationSettings.parse("12h", "", "auto", "", "").serverCertRenewBefore(),
                "default renew-before follows the TTL");
        assertInstanceOf(IntermediateRotationPolicy.Off.class, RotationSettings.parse("", "", "off", "", "")
                .intermediateRotation());
        assertInstanceOf(IntermediateRotationPolicy.Off.class, RotationSettings.parse("", "", "0", "", "")
                .intermediateRotation());
        assertInstanceOf(IntermediateRotationPolicy.WhenThirdLeft.class, RotationSettings.parse("", "", " AUTO ", "",
                "").intermediateRotation());
    }

    @Test
    void refusesValuesOutOfBoundsNamingTheKey() {
        assertMessage(() -> RotationSettings.parse("30m", "", "", "", ""), "attestmesh.server-cert.ttl",
                "between 1h and 365d");
        assertMessage(() -> RotationSettings.parse("400d", "", "", "", ""), "attestmesh.server-cert.ttl",
                "between 1h and 365d");
        assertMessage(() -> RotationSettings.parse("30d", "1d", "", "", ""), "attestmesh.server-cert.renew-before",
                "between a tenth and a half");
        assertMessage(() -> RotationSettings.parse("30d", "16d", "", "", ""), "attestmesh.server-cert.renew-before",
                "3d to 15d");
        assertMessage(() -> RotationSettings.parse("", "", "30m", "", ""), "attestmesh.ca.intermediate-rotation",
                "'auto', 'off' or a period between 1h and 364d");
        assertMessage(() -> RotationSettings.parse("", "", "365d", "", ""), "attestmesh.ca.intermediate-rotation",
                "between 1h and 364d");
        assertMessage(() -> RotationSettings.parse("", "", "", "91d", ""), "attestmesh.ca.intermediate-overlap",
                "between 1h and 90d");
        assertMessage(() -> RotationSettings.parse("", "", "", "", "10ms"), "attestmesh.rotation.check-interval",
                "between 50ms and 1h");
        assertMessage(() -> RotationSettings.parse("soon", "", "", "", ""), "attestmesh.server-cert.ttl",
                "must be a duration such as 30d");
        assertMessage(() -> RotationSettings.parse("", "", "weekly", "", ""), "attestmesh.ca.intermediate-rotation",
                "got 'weekly'");
        assertMessage(() -> RotationSettings.parse("-PT1H", "", "", "", ""), "attestmesh.server-cert.ttl",
                "must not be negative");
        String longJunk = "x".repeat(500) + "\n";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RotationSettings.parse(longJunk, "", "", "", ""));
        assertTrue(e.getMessage().length() < 200, "an echoed value is shortened: " + e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "control characters are not echoed");
    }

    @Test
    void anOverlapShorterThanTheLongestNodeCertificateIsRefusedWhileTheScheduleIsOn() {
        RotationSettings shortOverlap = RotationSettings.parse("", "", "auto", "12h", "");
        assertMessage(() -> shortOverlap.checkOverlapCovers(Duration.ofHours(24)), "attestmesh.ca.intermediate-overlap (12h)",
                "shorter than attestmesh.max-certificate-ttl (1d)");
        shortOverlap.checkOverlapCovers(Duration.ofHours(12)); // equal is enough
        RotationSettings.parse("", "", "off", "12h", "").checkOverlapCovers(Duration.ofDays(7)); // schedule off
    }

    @Test
    void autoRotatesWhenAThirdOfTheLifeIsLeftAndAPeriodAtThatAgeOrAutoIfSooner() {
        Instant t0 = Instant.parse("2026-01-01T00:00:00Z");
        MeshCa ca = MeshCa.generate("attestmesh.local", new SettableClock(t0));
        X509Certificate inter = ca.issuingIntermediate();
        Instant notBefore = inter.getNotBefore().toInstant();
        Instant notAfter = inter.getNotAfter().toInstant();
        Instant twoThirds = notAfter.minus(Duration.between(notBefore, notAfter).dividedBy(3));

        IntermediateRotationPolicy auto = new IntermediateRotationPolicy.WhenThirdLeft();
        assertEquals(twoThirds, auto.dueAt(inter).orElseThrow());
        assertFalse(auto.isDue(inter, twoThirds.minusSeconds(1)));
        assertTrue(auto.isDue(inter, twoThirds));

        IntermediateRotationPolicy every90 = new IntermediateRotationPolicy.Every(Duration.ofDays(90));
        assertEquals(notBefore.plus(Duration.ofDays(90)), every90.dueAt(inter).orElseThrow());
        assertFalse(every90.isDue(inter, notBefore.plus(Duration.ofDays(89))));
        assertTrue(every90.isDue(inter, notBefore.plus(Duration.ofDays(90))));
        assertEquals(twoThirds, new IntermediateRotationPolicy.Every(Duration.ofDays(300)).dueAt(inter).orElseThrow(),
                "a period past the auto point still rotates with a third of the life left");

        IntermediateRotationPolicy off = new IntermediateRotationPolicy.Off();
        assertTrue(off.dueAt(inter).isEmpty());
        assertFalse(off.isDue(inter, notAfter));
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable e, String... parts) {
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e);
        for (String p : parts) {
            assertTrue(x.getMessage().contains(p), "'" + x.getMessage() + "' should contain '" + p + "'");
        }
    }
}
