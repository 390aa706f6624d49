package dev.attestmesh.ca;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class MeshCaTest {
    private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");

    @Test
    void generatesP256RootAndIntermediateWithCaExtensions() throws Exception {
        MeshCa ca = MeshCa.generate("mesh.example", new TestKeys.MutableClock(NOW));
        X509Certificate root = ca.root();
        X509Certificate inter = ca.issuingIntermediate();
        assertEquals("secp256r1", ((ECPublicKey) root.getPublicKey()).getParams().toString().contains("secp256r1")
                ? "secp256r1" : ((ECPublicKey) root.getPublicKey()).getParams().toString());
        assertEquals("SHA256withECDSA", inter.getSigAlgName());
        root.verify(root.getPublicKey());
        inter.verify(root.getPublicKey());
        assertEquals(Integer.MAX_VALUE, root.getBasicConstraints());
        assertEquals(0, inter.getBasicConstraints());
        assertTrue(inter.getKeyUsage()[5] && inter.getKeyUsage()[6], "keyCertSign and cRLSign");
        assertTrue(inter.getCriticalExtensionOIDs().contains("2.5.29.19"));
        assertTrue(root.getNotAfter().toInstant().isAfter(NOW.plus(Duration.ofDays(3649))));
        assertEquals(NOW.plus(Duration.ofDays(365)), inter.getNotAfter().toInstant());
        assertTrue(inter.getExtensionValue("2.5.29.35") != null && root.getExtensionValue("2.5.29.14") != null);
        assertTrue(root.getSubjectX500Principal().getName().contains("OU=mesh.example"));
        assertEquals(List.of(root, inter), ca.trustBundle());
    }

    @Test
    void rotationKeepsOldIntermediateInBundleUntilOverlapEnds() {
        TestKeys.MutableClock clock = new TestKeys.MutableClock(NOW);
        MeshCa ca = MeshCa.generate("mesh.example", clock);
        X509Certificate old = ca.issuingIntermediate();
        clock.advance(Duration.ofDays(1));
        MeshCa rotated = ca.rotateIntermediate(Duration.ofHours(2));
        assertNotEquals(old, rotated.issuingIntermediate());
        assertEquals(ca.root(), rotated.root());
        assertEquals(List.of(ca.root(), rotated.issuingIntermediate(), old), rotated.trustBundle());
        clock.advance(Duration.ofHours(2));
        assertEquals(List.of(ca.root(), rotated.issuingIntermediate()), rotated.trustBundle());
        assertFalse(rotated.rotateIntermediate(Duration.ZERO).trustBundle().contains(old));
    }

    @Test
    void rejectsInvalidTrustDomain() {
        assertThrows(IllegalArgumentException.class, () -> MeshCa.generate("Mesh:443", new TestKeys.MutableClock(NOW)));
    }

    @Test
    void toStringDoesNotLeakKeys() {
        MeshCa ca = MeshCa.generate("mesh.example", new TestKeys.MutableClock(NOW));
        assertFalse(ca.toString().toLowerCase().contains("private"));
    }
}
