package dev.attestmesh.sealing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** HPKE sealed files: open only with the key they were sealed to; any altered byte is refused. */
class SealedFileTest {
    static final byte[] PLAIN = "model weights, or a licence key".getBytes(StandardCharsets.UTF_8);

    @Test
    void opensWithTheKeyItWasSealedTo() throws Exception {
        byte[] pair = SealedFile.generateKeyPair();
        byte[] sealed = SealedFile.seal("strict", SealedFile.publicKeyOf(pair), PLAIN);
        SealedFile.Header h = SealedFile.header(sealed);
        assertEquals("strict", h.policyId());
        assertEquals(SealedFile.keyId(SealedFile.publicKeyOf(pair)), h.keyId());
        assertArrayEquals(PLAIN, SealedFile.open(sealed, pair));
    }

    @Test
    void anotherKeyIsRefusedByName() {
        byte[] pair = SealedFile.generateKeyPair();
        byte[] other = SealedFile.generateKeyPair();
        byte[] sealed = SealedFile.seal("strict", SealedFile.publicKeyOf(pair), PLAIN);
        SealedFileException e = assertThrows(SealedFileException.class, () -> SealedFile.open(sealed, other));
        assertTrue(e.getMessage().contains("was sealed to key " + SealedFile.keyId(SealedFile.publicKeyOf(pair))),
                e.getMessage());
    }

    @Test
    void everyAlteredByteOfHeaderOrCiphertextIsRefused() {
        byte[] pair = SealedFile.generateKeyPair();
        byte[] sealed = SealedFile.seal("strict", SealedFile.publicKeyOf(pair), PLAIN);
        for (int i = 0; i < sealed.length; i++) {
            byte[] t = sealed.clone();
            t[i] ^= 0x01;
            int at = i;
            assertThrows(SealedFileException.class, () -> SealedFile.open(t, pair), () -> "byte " + at + " altered");
        }
        assertThrows(SealedFileException.class, () -> SealedFile.open(Arrays.copyOf(sealed, sealed.length - 1), pair));
        assertThrows(SealedFileException.class, () -> SealedFile.open(Arrays.copyOf(sealed, 20), pair));
    }

    @Test
    void aHeaderNamingAnotherPolicyWithTheSameKeyIdDoesNotOpen() throws Exception {
        // swapping the policy name (same length, so the layout still parses) changes the associated data
        byte[] pair = SealedFile.generateKeyPair();
        byte[] sealed = SealedFile.seal("strict", SealedFile.publicKeyOf(pair), PLAIN);
        byte[] t = sealed.clone();
        byte[] other = "stricx".getBytes(StandardCharsets.UTF_8);
        System.arraycopy(other, 0, t, 10, other.length);
        assertEquals("stricx", SealedFile.header(t).policyId());
        SealedFileException e = assertThrows(SealedFileException.class, () -> SealedFile.open(t, pair));
        assertTrue(e.getMessage().contains("altered"), e.getMessage());
    }
}
