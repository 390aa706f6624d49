package dev.attestmesh.ca;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CheckpointKeyTest {
    private static final char[] SECRET = "checkpoint key test secret".toCharArray();
    private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");

    @Test
    void aNewCaHasACheckpointKeyCertifiedByTheRootForCheckpointSigningOnly() throws Exception {
        MeshCa ca = MeshCa.generate("mesh.example", new TestKeys.MutableClock(NOW));
        CheckpointKey key = ca.checkpointKey().orElseThrow();
        var cert = key.certificate();
        cert.verify(ca.root().getPublicKey());
        assertEquals(-1, cert.getBasicConstraints(), "not a CA");
        assertTrue(cert.getKeyUsage()[0], "digitalSignature");
        assertFalse(cert.getKeyUsage()[5], "no keyCertSign");
        assertEquals(List.of(AttestMeshOids.CHECKPOINT_SIGNING_EKU), cert.getExtendedKeyUsage());
        assertEquals(ca.root().getNotAfter(), cert.getNotAfter(), "lives as long as the root");
        assertArrayEquals(key.publicKey(), CheckpointKey.verifiedPublicKey(cert, ca.root(), NOW));
        assertEquals(32, key.publicKey().length);
    }

    @Test
    void signaturesVerifyOnlyForTheSignedBytesAndKey() {
        MeshCa ca = MeshCa.generate("mesh.example", new TestKeys.MutableClock(NOW));
        CheckpointKey key = ca.checkpointKey().orElseThrow();
        byte[] msg = "size 42\n".getBytes(StandardCharsets.US_ASCII);
        byte[] sig = key.sign(msg);
        assertTrue(CheckpointKey.verify(key.publicKey(), msg, sig));
        byte[] other = msg.clone();
        other[5] ^= 1;
        assertFalse(CheckpointKey.verify(key.publicKey(), other, sig));
        byte[] otherKey = MeshCa.generate("mesh.example", new TestKeys.MutableClock(NOW)).checkpointKey().orElseThrow()
                .publicKey();
        assertFalse(CheckpointKey.verify(otherKey, msg, sig));
        assertFalse(CheckpointKey.verify(key.publicKey(), msg, new byte[63]), "wrong length");
    }

    @Test
    void anotherCasRootOrACertificateWithoutTheCheckpointUsageIsRefused() {
        MeshCa ca = MeshCa.generate("mesh.example", new TestKeys.MutableClock(NOW));
        MeshCa other = MeshCa.generate("mesh.example", new TestKeys.MutableClock(NOW));
        var cert = ca.checkpointKey().orElseThrow().certificate();
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> CheckpointKey.verifiedPublicKey(cert, other.root(), NOW)).getMessage().contains("not signed by"));
        // the intermediate is signed by the root but is no checkpoint signing certificate
        assertThrows(IllegalArgumentException.class,
                () -> CheckpointKey.verifiedPublicKey(ca.issuingIntermediate(), ca.root(), NOW));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CheckpointKey.verifiedPublicKey(cert, ca.root(),
                ca.root().getNotAfter().toInstant().plusSeconds(1))).getMessage().contains("valid"));
    }

    @Test
    void theKeySurvivesSealingAndIntermediateRotation() throws Exception {
        TestKeys.MutableClock clock = new TestKeys.MutableClock(NOW);
        MeshCa ca = MeshCa.generate("mesh.example", clock);
        MeshCa back = CaVault.unseal(CaVault.seal(ca, SECRET), SECRET, clock);
        assertArrayEquals(ca.checkpointKey().orElseThrow().publicKey(), back.checkpointKey().orElseThrow().publicKey());
        assertEquals(ca.checkpointKey().orElseThrow().certificate(), back.checkpointKey().orElseThrow().certificate());
        byte[] msg = {1, 2, 3};
        assertTrue(CheckpointKey.verify(ca.checkpointKey().orElseThrow().publicKey(), msg,
                back.checkpointKey().orElseThrow().sign(msg)), "the restored private key signs for the same public key");
        MeshCa rotated = back.rotateIntermediate(Duration.ofHours(1));
        assertNotEquals(back.issuingIntermediate(), rotated.issuingIntermediate());
        assertSame(back.checkpointKey().orElseThrow(), rotated.checkpointKey().orElseThrow());
    }

    @Test
    void aCaSealedBeforeCheckpointsExistedOpensWithoutAKeyAndGainsOneThatIsThenSealed() throws Exception {
        TestKeys.MutableClock clock = new TestKeys.MutableClock(NOW);
        MeshCa full = MeshCa.generate("mesh.example", clock);
        // what an earlier version sealed: the same state without the eighth element
        MeshCa old = new MeshCa(full.trustDomain(), clock, full.root(), full.rootKey(), full.issuingIntermediate(),
                full.issuingKey(), List.of(), Optional.empty());
        MeshCa opened = CaVault.unseal(CaVault.seal(old, SECRET), SECRET, clock);
        assertTrue(opened.checkpointKey().isEmpty());
        MeshCa upgraded = opened.withCheckpointKey();
        assertSame(upgraded, upgraded.withCheckpointKey(), "adds a key once");
        upgraded.checkpointKey().orElseThrow().certificate().verify(full.root().getPublicKey());
        MeshCa reopened = CaVault.unseal(CaVault.seal(upgraded, SECRET), SECRET, clock);
        assertArrayEquals(upgraded.checkpointKey().orElseThrow().publicKey(),
                reopened.checkpointKey().orElseThrow().publicKey());
        assertEquals(full.issuingIntermediate(), reopened.issuingIntermediate(), "nothing else changed");
    }
}
