package dev.attestmesh.quote.trust;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class EcdsaP256Test {
    private static KeyPair generate(String curve) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec(curve));
        return g.generateKeyPair();
    }

    private static byte[] rawPoint(ECPublicKey k) {
        byte[] out = new byte[64];
        byte[] x = k.getW().getAffineX().toByteArray();
        byte[] y = k.getW().getAffineY().toByteArray();
        int lx = Math.min(32, x.length);
        int ly = Math.min(32, y.length);
        System.arraycopy(x, x.length - lx, out, 32 - lx, lx);
        System.arraycopy(y, y.length - ly, out, 64 - ly, ly);
        return out;
    }

    @Test
    void derSignaturesVerifyWithTheJdkProvider() throws Exception {
        KeyPair kp = generate("secp256r1");
        EcdsaP256.SigningKey key = EcdsaP256.signingKey(kp.getPrivate()).orElseThrow();
        for (int i = 0; i < 50; i++) {
            byte[] msg = ("message " + i).getBytes(StandardCharsets.UTF_8);
            byte[] sig = key.signDer(msg);
            Signature v = Signature.getInstance("SHA256withECDSA");
            v.initVerify(kp.getPublic());
            v.update(msg);
            assertTrue(v.verify(sig), "JDK rejects signature " + i);
            byte[] other = msg.clone();
            other[0] ^= 1;
            v.initVerify(kp.getPublic());
            v.update(other);
            assertFalse(v.verify(sig), "signature " + i + " also verifies a different message");
        }
    }

    @Test
    void rawSignaturesVerifyWithTheRawVerifier() throws Exception {
        KeyPair kp = generate("secp256r1");
        EcdsaP256.SigningKey key = EcdsaP256.signingKey(kp.getPrivate()).orElseThrow();
        EcdsaP256.VerifyingKey pub = EcdsaP256.fromRaw(rawPoint((ECPublicKey) kp.getPublic())).orElseThrow();
        for (int i = 0; i < 50; i++) {
            byte[] msg = ("quote body " + i).getBytes(StandardCharsets.UTF_8);
            byte[] rs = key.signRaw(msg);
            assertEquals(64, rs.length);
            assertTrue(EcdsaP256.verifyRaw(pub, msg, rs), "raw signature " + i);
            byte[] bad = rs.clone();
            bad[40] ^= 0x10;
            assertFalse(EcdsaP256.verifyRaw(pub, msg, bad));
        }
    }

    @Test
    void bouncyCastleNoncesAreDeterministicPerMessage() throws Exception {
        EcdsaP256.SigningKey key = EcdsaP256.signingKey(generate("secp256r1").getPrivate()).orElseThrow();
        byte[] a = "same".getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(key.signDerWithBouncyCastle(a), key.signDerWithBouncyCastle(a),
                "RFC 6979 gives one signature per key and message");
        assertFalse(Arrays.equals(key.signDerWithBouncyCastle(a),
                key.signDerWithBouncyCastle("other".getBytes(StandardCharsets.UTF_8))));
    }

    @Test
    void aRepeatedMessageNeverRepeatsANonce() throws Exception {
        // With OpenSSL the nonces are hedged (fresh random bytes mixed with key and digest), so the same message
        // gives another r; with BouncyCastle the same r (RFC 6979). Either way r differs between messages.
        EcdsaP256.SigningKey key = EcdsaP256.signingKey(generate("secp256r1").getPrivate()).orElseThrow();
        byte[] a = "same".getBytes(StandardCharsets.UTF_8);
        java.util.Set<String> rs = new java.util.HashSet<>();
        for (int i = 0; i < 20; i++) {
            rs.add(java.util.HexFormat.of().formatHex(Arrays.copyOf(key.signRaw(("message " + i)
                    .getBytes(StandardCharsets.UTF_8)), 32)));
        }
        assertEquals(20, rs.size(), "20 messages, 20 different r");
        boolean hedged = NativeP256.instance().isPresent();
        assertEquals(hedged, !Arrays.equals(key.signDer(a), key.signDer(a)),
                hedged ? "OpenSSL's hedged nonces give a new signature each time" : "RFC 6979 repeats it");
    }

    @Test
    void otherCurvesAndKeyTypesAreNotSigningKeys() throws Exception {
        assertTrue(EcdsaP256.signingKey(generate("secp384r1").getPrivate()).isEmpty());
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        assertTrue(EcdsaP256.signingKey(rsa.generateKeyPair().getPrivate()).isEmpty());
    }
}
