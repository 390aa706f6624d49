package dev.attestmesh.issuance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.ca.CheckpointKey;
import dev.attestmesh.ca.MeshCa;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class CheckpointNotesTest {
    static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
    static final MeshCa CA = MeshCa.generate("mesh.example", Clock.fixed(NOW, ZoneOffset.UTC));
    static final MeshCa OTHER_CA = MeshCa.generate("mesh.example", Clock.fixed(NOW, ZoneOffset.UTC));

    static Checkpoint checkpoint(MeshCa ca, long size, String head) {
        return new Checkpoint("mesh.example/attestmesh/issuance-log", size, head, NOW.plusSeconds(60),
                CheckpointVerifier.sha256Hex(ca.root()));
    }

    static CheckpointVerifier verifier(MeshCa ca) throws CheckpointException {
        return CheckpointVerifier.forCertificate(ca.checkpointKey().orElseThrow().certificate(), ca.root());
    }

    @Test
    void theSignedTextIsExactlyTheDocumentedFiveLines() {
        Checkpoint c = checkpoint(CA, 42, "0f".repeat(32));
        String b64 = Base64.getEncoder().encodeToString(HexFormat.of().parseHex("0f".repeat(32)));
        assertEquals("mesh.example/attestmesh/issuance-log\n42\n" + b64 + "\ntimestamp " + NOW.plusSeconds(60).getEpochSecond()
                + "\nca-root-sha256 " + c.caRootSha256Hex() + "\n", c.text());
        String note = CheckpointNotes.sign(c, CA.checkpointKey().orElseThrow()).note();
        assertTrue(note.startsWith(c.text() + "\n\u2014 mesh.example/attestmesh/issuance-log "), note);
        assertTrue(note.endsWith("\n"));
    }

    @Test
    void signatureRoundTripsAndFollowsC2spKeyIdAndSignatureLayout() throws Exception {
        Checkpoint c = checkpoint(CA, 7, "ab".repeat(32));
        CheckpointKey key = CA.checkpointKey().orElseThrow();
        String note = CheckpointNotes.sign(c, key).note();
        assertEquals(c, verifier(CA).verify(note));
        // independently of the codec: key ID = SHA-256(name || 0x0A || 0x01 || key)[:4], signature over the text
        String sigLine = note.substring(note.indexOf('\u2014'));
        byte[] sig = Base64.getDecoder().decode(sigLine.substring(sigLine.lastIndexOf(' ') + 1).strip());
        assertEquals(68, sig.length);
        byte[] idInput = ByteBuffer.allocate(c.origin().length() + 2 + 32).put(c.origin().getBytes(StandardCharsets.US_ASCII))
                .put((byte) 0x0a).put((byte) 0x01).put(key.publicKey()).array();
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(idInput);
        assertEquals(HexFormat.of().formatHex(digest, 0, 4), HexFormat.of().formatHex(sig, 0, 4));
        assertTrue(CheckpointKey.verify(key.publicKey(), c.text().getBytes(StandardCharsets.UTF_8),
                Arrays.copyOfRange(sig, 4, 68)));
        String vkey = CheckpointNotes.verifierKey(c.origin(), key.publicKey());
        byte[] keyData = ByteBuffer.allocate(33).put((byte) 0x01).put(key.publicKey()).array();
        assertEquals(c.origin() + "+" + HexFormat.of().formatHex(digest, 0, 4) + "+"
                + Base64.getEncoder().encodeToString(keyData), vkey);
    }

    @Test
    void changingAnyOneByteOfTheNoteIsRefused() throws Exception {
        String note = CheckpointNotes.sign(checkpoint(CA, 1234, "5a".repeat(32)), CA.checkpointKey().orElseThrow()).note();
        byte[] bytes = note.getBytes(StandardCharsets.UTF_8);
        CheckpointVerifier v = verifier(CA);
        for (int i = 0; i < bytes.length; i++) {
            for (int flip : new int[] {0x01, 0x20}) {
                byte[] changed = bytes.clone();
                changed[i] ^= (byte) flip;
                int at = i;
                assertThrows(CheckpointException.class, () -> v.verify(CheckpointNotes.decodeUtf8(changed)),
                        () -> "byte " + at + " of the note changed (xor " + flip + ") but the note still verified");
            }
        }
    }

    @Test
    void aNoteSignedByAnotherCaOrNamingAnotherRootIsRefused() throws Exception {
        String otherSigned = CheckpointNotes.sign(checkpoint(CA, 3, "01".repeat(32)), OTHER_CA.checkpointKey().orElseThrow())
                .note();
        assertTrue(assertThrows(CheckpointException.class, () -> verifier(CA).verify(otherSigned)).getMessage()
                .contains("not by this CA's checkpoint key"));
        String otherRoot = CheckpointNotes.sign(checkpoint(OTHER_CA, 3, "01".repeat(32)), CA.checkpointKey().orElseThrow())
                .note();
        assertTrue(assertThrows(CheckpointException.class, () -> verifier(CA).verify(otherRoot)).getMessage()
                .contains("not the trusted root"));
        assertThrows(CheckpointException.class, () -> CheckpointVerifier.forCertificate(
                CA.checkpointKey().orElseThrow().certificate(), OTHER_CA.root()));
    }

    @Test
    void signaturesOfOtherKeysAreIgnoredButNeverSufficient() throws Exception {
        String note = CheckpointNotes.sign(checkpoint(CA, 9, "77".repeat(32)), CA.checkpointKey().orElseThrow()).note();
        String witness = "\u2014 witness.example/w1 " + Base64.getEncoder().encodeToString(new byte[68]) + "\n";
        assertEquals(9, verifier(CA).verify(note + witness).size(), "a cosignature line does not disturb");
        String onlyWitness = note.substring(0, note.indexOf('\u2014')) + witness;
        assertTrue(assertThrows(CheckpointException.class, () -> verifier(CA).verify(onlyWitness)).getMessage()
                .contains("no signature by"));
    }

    @Test
    void malformedNotesAreRefusedWithTheReason() throws Exception {
        String note = CheckpointNotes.sign(checkpoint(CA, 9, "77".repeat(32)), CA.checkpointKey().orElseThrow()).note();
        CheckpointVerifier v = verifier(CA);
        assertTrue(assertThrows(CheckpointException.class, () -> v.verify(note.replace("\n\n", "\n")))
                .getMessage().contains("blank line"));
        assertTrue(assertThrows(CheckpointException.class, () -> v.verify(note.strip())).getMessage().contains("newline"));
        assertTrue(assertThrows(CheckpointException.class, () -> v.verify(note.replaceFirst("\n9\n", "\n09\n")))
                .getMessage().contains("leading zeros"));
        assertTrue(assertThrows(CheckpointException.class, () -> v.verify("x".repeat(CheckpointNotes.MAX_NOTE_BYTES + 1)))
                .getMessage().contains("at most"));
        String sig = note.substring(note.indexOf('\u2014'));
        assertTrue(assertThrows(CheckpointException.class, () -> v.verify(note + sig.repeat(16))).getMessage()
                .contains("more than 16"));
        assertThrows(CheckpointException.class, () -> CheckpointNotes.decodeUtf8(new byte[] {(byte) 0xc3, 0x28}));
    }

    @Test
    void anEmptyLogHasTheAllZeroHead() throws Exception {
        Checkpoint empty = checkpoint(CA, 0, IssuanceLog.GENESIS_HASH);
        assertEquals(empty, verifier(CA).verify(CheckpointNotes.sign(empty, CA.checkpointKey().orElseThrow()).note()));
        assertThrows(IllegalArgumentException.class, () -> checkpoint(CA, 0, "01".repeat(32)));
    }
}
