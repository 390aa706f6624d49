package dev.attestmesh.issuance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class ReportDataBindingTest {
    @Test
    void matchesIndependentComputation() throws Exception {
        byte[] nonce = HexFormat.of().parseHex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
        byte[] spki = "not really an spki, any bytes".getBytes(StandardCharsets.US_ASCII);
        ByteArrayOutputStream in = new ByteArrayOutputStream();
        in.writeBytes("attestmesh-v1".getBytes(StandardCharsets.US_ASCII));
        in.writeBytes(nonce);
        in.writeBytes(MessageDigest.getInstance("SHA-256").digest(spki));
        byte[] expected = MessageDigest.getInstance("SHA-512").digest(in.toByteArray());
        byte[] actual = ReportDataBinding.expected(nonce, spki);
        assertEquals(64, actual.length);
        assertArrayEquals(expected, actual);
        assertTrue(ReportDataBinding.matches(expected, nonce, spki));
        byte[] otherNonce = nonce.clone();
        otherNonce[0] ^= 1;
        assertFalse(ReportDataBinding.matches(expected, otherNonce, spki));
    }
}
