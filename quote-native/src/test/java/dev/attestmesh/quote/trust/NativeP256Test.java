package dev.attestmesh.quote.trust;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.bouncycastle.crypto.signers.StandardDSAEncoding;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * OpenSSL's answer must be BouncyCastle's: valid signatures, tampered data, tampered and malformed
 * signatures, out-of-range r and s, and the wrong key. Runs where {@code libcrypto.so.3} loads (the build
 * machine and CI install it; Debian's {@code libssl3}); skipped, saying so, elsewhere.
 */
class NativeP256Test {
    private static final BigInteger N = new BigInteger(
            "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16);
    private static final Random RANDOM = new Random(20261207L);
    private static final List<KeyPair> KEYS = new ArrayList<>();

    @BeforeAll
    static void keys() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        for (int i = 0; i < 40; i++) {
            KEYS.add(g.generateKeyPair());
        }
    }

    private static NativeP256 openssl() {
        assumeTrue(NativeP256.instance().isPresent(),
                "OpenSSL libcrypto.so.3 is not loadable here; EcdsaP256 verifies with BouncyCastle");
        return NativeP256.instance().orElseThrow();
    }

    private static byte[] sign(PrivateKey key, byte[] data) throws Exception {
        Signature s = Signature.getInstance("SHA256withECDSA");
        s.initSign(key);
        s.update(data);
        return s.sign();
    }

    private static byte[] sha256(byte[] data) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(data);
    }

    /** The answer of both paths, which must agree; returns it. */
    private static boolean bothAgree(NativeP256 openssl, EcdsaP256.VerifyingKey key, byte[] data, byte[] der)
            throws Exception {
        boolean bc = EcdsaP256.verifyDerWithBouncyCastle(key, data, der);
        boolean viaPublicApi = EcdsaP256.verifyDer(key, data, der);
        boolean strictDer;
        try {
            StandardDSAEncoding.INSTANCE.decode(N, der);
            strictDer = true;
        } catch (Exception e) {
            strictDer = false;
        }
        // The public API decodes strictly first; OpenSSL alone then must agree wherever the encoding is strict.
        if (strictDer) {
            assertEquals(bc, openssl.verify(EcdsaP256.point(key), sha256(data), der),
                    "OpenSSL and BouncyCastle disagree on " + hex(der));
        }
        assertEquals(bc, viaPublicApi, "the public API disagrees with BouncyCastle on " + hex(der));
        return bc;
    }

    @Test
    void loadsAndNamesItsVersion() {
        NativeP256 v = openssl();
        assertTrue(v.version().startsWith("OpenSSL 3"), v.version());
        assertTrue(EcdsaP256.verificationBackend().contains("libcrypto"), EcdsaP256.verificationBackend());
    }

    @Test
    void agreesWithBouncyCastleOnValidAndTamperedSignatures() throws Exception {
        NativeP256 openssl = openssl();
        int valid = 0;
        for (int i = 0; i < KEYS.size(); i++) {
            KeyPair kp = KEYS.get(i);
            EcdsaP256.VerifyingKey key = EcdsaP256.fromPublicKey(kp.getPublic()).orElseThrow();
            byte[] data = new byte[RANDOM.nextInt(2000)];
            RANDOM.nextBytes(data);
            byte[] der = sign(kp.getPrivate(), data);
            if (bothAgree(openssl, key, data, der)) {
                valid++;
            }
            byte[] otherData = data.length == 0 ? new byte[] {1} : data.clone();
            otherData[0] ^= 1;
            assertFalse(bothAgree(openssl, key, otherData, der), "tampered data verified");
            byte[] tampered = der.clone();
            tampered[tampered.length - 1 - RANDOM.nextInt(8)] ^= (byte) (1 << RANDOM.nextInt(8));
            assertFalse(bothAgree(openssl, key, data, tampered), "tampered signature verified");
            EcdsaP256.VerifyingKey wrongKey = EcdsaP256.fromPublicKey(KEYS.get((i + 1) % KEYS.size()).getPublic())
                    .orElseThrow();
            assertFalse(bothAgree(openssl, wrongKey, data, der), "verified under another key");
        }
        assertEquals(KEYS.size(), valid, "every genuine signature verifies");
    }

    @Test
    void agreesOnMalformedAndOutOfRangeSignatures() throws Exception {
        NativeP256 openssl = openssl();
        KeyPair kp = KEYS.get(0);
        EcdsaP256.VerifyingKey key = EcdsaP256.fromPublicKey(kp.getPublic()).orElseThrow();
        byte[] data = "malformed".getBytes(StandardCharsets.US_ASCII);
        byte[] der = sign(kp.getPrivate(), data);
        BigInteger[] rs = StandardDSAEncoding.INSTANCE.decode(N, der);
        List<byte[]> cases = new ArrayList<>();
        cases.add(new byte[0]);
        cases.add(new byte[] {0x30, 0x00});
        cases.add(Arrays.copyOf(der, der.length - 1)); // truncated
        byte[] trailing = Arrays.copyOf(der, der.length + 1); // trailing byte after the SEQUENCE
        cases.add(trailing);
        byte[] longForm = new byte[der.length + 1]; // non-minimal length: 30 81 xx
        longForm[0] = 0x30;
        longForm[1] = (byte) 0x81;
        System.arraycopy(der, 1, longForm, 2, der.length - 1);
        cases.add(longForm);
        cases.add(derOf(BigInteger.ZERO, rs[1]));
        cases.add(derOf(rs[0], BigInteger.ZERO));
        cases.add(derOf(rs[0].add(N), rs[1])); // r + n: the same point, outside [1, n-1]
        cases.add(derOf(rs[0], rs[1].add(N)));
        cases.add(derOf(N, rs[1]));
        cases.add(derOf(rs[0], N.subtract(rs[1]))); // the other s of the pair (n - s): also a valid ECDSA signature
        byte[] random = new byte[72];
        for (int i = 0; i < 200; i++) {
            RANDOM.nextBytes(random);
            random[0] = 0x30;
            random[1] = 0x46;
            cases.add(random.clone());
        }
        for (byte[] c : cases) {
            bothAgree(openssl, key, data, c);
        }
        // The low-s/high-s twin: both are valid ECDSA signatures, and both libraries accept both.
        byte[] twin = derOf(rs[0], N.subtract(rs[1]));
        assertEquals(EcdsaP256.verifyDerWithBouncyCastle(key, data, twin), EcdsaP256.verifyDer(key, data, twin));
    }

    @Test
    void rawSignaturesAgreeToo() throws Exception {
        openssl();
        KeyPair kp = KEYS.get(1);
        EcdsaP256.VerifyingKey key = EcdsaP256.fromPublicKey(kp.getPublic()).orElseThrow();
        byte[] data = "raw r||s".getBytes(StandardCharsets.US_ASCII);
        BigInteger[] rs = StandardDSAEncoding.INSTANCE.decode(N, sign(kp.getPrivate(), data));
        byte[] raw = new byte[64];
        org.bouncycastle.util.BigIntegers.asUnsignedByteArray(rs[0], raw, 0, 32);
        org.bouncycastle.util.BigIntegers.asUnsignedByteArray(rs[1], raw, 32, 32);
        assertTrue(EcdsaP256.verifyRaw(key, data, raw));
        raw[5] ^= 4;
        assertFalse(EcdsaP256.verifyRaw(key, data, raw));
        assertFalse(EcdsaP256.verifyRaw(key, data, new byte[64]), "r = s = 0");
        byte[] allOnes = new byte[64];
        Arrays.fill(allOnes, (byte) 0xff); // r, s > n
        assertFalse(EcdsaP256.verifyRaw(key, data, allOnes));
    }

    @Test
    void opensslSignaturesVerifyWithBouncyCastleAndTheJdk() throws Exception {
        NativeP256 openssl = openssl();
        for (int i = 0; i < KEYS.size(); i++) {
            KeyPair kp = KEYS.get(i);
            EcdsaP256.SigningKey signer = EcdsaP256.signingKey(kp.getPrivate()).orElseThrow();
            EcdsaP256.VerifyingKey key = EcdsaP256.fromPublicKey(kp.getPublic()).orElseThrow();
            byte[] data = new byte[1 + RANDOM.nextInt(2000)];
            RANDOM.nextBytes(data);
            byte[] der = signer.signDer(data); // through OpenSSL here
            StandardDSAEncoding.INSTANCE.decode(N, der); // strict DER, r and s in range, or this throws
            assertTrue(EcdsaP256.verifyDerWithBouncyCastle(key, data, der), "BouncyCastle verifies OpenSSL's signature");
            Signature jdk = Signature.getInstance("SHA256withECDSA");
            jdk.initVerify(kp.getPublic());
            jdk.update(data);
            assertTrue(jdk.verify(der), "the JDK verifies OpenSSL's signature");
            byte[] other = data.clone();
            other[0] ^= 1;
            assertFalse(EcdsaP256.verifyDerWithBouncyCastle(key, other, der), "not over other data");
            EcdsaP256.VerifyingKey wrongKey = EcdsaP256.fromPublicKey(KEYS.get((i + 1) % KEYS.size()).getPublic())
                    .orElseThrow();
            assertFalse(EcdsaP256.verifyDerWithBouncyCastle(wrongKey, data, der), "not under another key");
            byte[] raw = signer.signRaw(data);
            byte[] rawDer = derOf(new BigInteger(1, Arrays.copyOf(raw, 32)),
                    new BigInteger(1, Arrays.copyOfRange(raw, 32, 64)));
            assertTrue(EcdsaP256.verifyDerWithBouncyCastle(key, data, rawDer), "raw r||s from OpenSSL verifies");
        }
    }

    @Test
    void signingRefusesWrongSizedOrOutOfRangeScalars() throws Exception {
        NativeP256 openssl = openssl();
        byte[] digest = sha256("x".getBytes(StandardCharsets.US_ASCII));
        assertTrue(openssl.sign(new byte[31], digest).isEmpty(), "31-byte scalar");
        assertTrue(openssl.sign(new byte[32], new byte[31]).isEmpty(), "31-byte digest");
        assertTrue(openssl.sign(new byte[32], digest).isEmpty(), "scalar 0 is not a private key");
        byte[] n = org.bouncycastle.util.BigIntegers.asUnsignedByteArray(32, N);
        assertTrue(openssl.sign(n, digest).isEmpty(), "scalar n is not a private key");
    }

    @Test
    void wrongSizedInputsAreRefusedWithoutReachingOpenSsl() {
        NativeP256 openssl = openssl();
        assertFalse(openssl.verify(new byte[64], new byte[32], new byte[70]), "64-byte point");
        assertFalse(openssl.verify(new byte[65], new byte[31], new byte[70]), "31-byte digest");
        assertFalse(openssl.verify(new byte[65], new byte[32], new byte[73]), "73-byte signature");
        byte[] offCurve = new byte[65];
        offCurve[0] = 4;
        offCurve[64] = 1;
        assertFalse(openssl.verify(offCurve, new byte[32], new byte[] {0x30, 0x06, 2, 1, 1, 2, 1, 1}),
                "a point not on the curve");
    }

    private static byte[] derOf(BigInteger r, BigInteger s) {
        byte[] rb = r.toByteArray();
        byte[] sb = s.toByteArray();
        byte[] out = new byte[6 + rb.length + sb.length];
        out[0] = 0x30;
        out[1] = (byte) (4 + rb.length + sb.length);
        out[2] = 2;
        out[3] = (byte) rb.length;
        System.arraycopy(rb, 0, out, 4, rb.length);
        out[4 + rb.length] = 2;
        out[5 + rb.length] = (byte) sb.length;
        System.arraycopy(sb, 0, out, 6 + rb.length, sb.length);
        return out;
    }

    private static String hex(byte[] b) {
        return java.util.HexFormat.of().formatHex(b);
    }
}
