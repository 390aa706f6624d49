package dev.attestmesh.sealing;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.BufferUnderflowException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.regex.Pattern;
import org.bouncycastle.crypto.AsymmetricCipherKeyPair;
import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.hpke.HPKE;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;

/**
 * Data sealed to an attestation policy (docs/secrets.md, "Sealing to a policy"): HPKE (RFC 9180) base mode with
 * the suite DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-128-GCM, to the policy's public sealing key. Only a node
 * satisfying the policy receives the private key, so only such a node can open the file.
 *
 * <p>Layout (all integers big-endian):
 * <pre>
 * "AMSEAL1\n" (8 bytes)
 * u16 len | policy id (UTF-8)
 * u16 len | key id (ASCII hex: first 8 bytes of SHA-256 of the public key)
 * u16 kem (0x0020) | u16 kdf (0x0001) | u16 aead (0x0001)
 * u16 len | enc (the HPKE encapsulated key, 32 bytes)
 * ciphertext with the 16-byte tag (the rest)
 * </pre>
 * The HPKE info is {@code "attestmesh-seal-v1"}; the associated data is the header up to the suite (magic, policy,
 * key id, suite), and the encapsulated key enters HPKE's key schedule: a changed header fails to open as surely
 * as a changed ciphertext.
 */
public final class SealedFile {
    private static final byte[] MAGIC = "AMSEAL1\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] INFO = "attestmesh-seal-v1".getBytes(StandardCharsets.US_ASCII);
    /** Suite identifiers (RFC 9180 section 7). */
    public static final short KEM = HPKE.kem_X25519_SHA256;
    public static final short KDF = HPKE.kdf_HKDF_SHA256;
    public static final short AEAD = HPKE.aead_AES_GCM128;
    /** How the suite is named in documents and the well-known key list. */
    public static final String SUITE = "HPKE-Base-DHKEM(X25519,HKDF-SHA256)-HKDF-SHA256-AES-128-GCM";
    /** Largest plaintext sealed or opened in one file. */
    public static final int MAX_PLAINTEXT_BYTES = 16 * 1024 * 1024;
    private static final Pattern KEY_ID = Pattern.compile("[0-9a-f]{16}");
    private static final int X25519_KEY_BYTES = 32;

    /** A sealed file's header, read before anything is decrypted (not trusted until {@link #open} succeeds). */
    public record Header(String policyId, String keyId, short kem, short kdf, short aead, byte[] enc, int length) {}

    private SealedFile() {}

    private static HPKE hpke() {
        return new HPKE(HPKE.mode_base, KEM, KDF, AEAD);
    }

    /** A fresh X25519 key pair as {@code private (32) || public (32)}, the form a node receives. */
    public static byte[] generateKeyPair() {
        HPKE h = hpke();
        AsymmetricCipherKeyPair kp = h.generatePrivateKey();
        byte[] sk = h.serializePrivateKey(kp.getPrivate());
        byte[] pk = h.serializePublicKey(kp.getPublic());
        byte[] out = new byte[sk.length + pk.length];
        System.arraycopy(sk, 0, out, 0, sk.length);
        System.arraycopy(pk, 0, out, sk.length, pk.length);
        Arrays.fill(sk, (byte) 0);
        return out;
    }

    /** The public half of a key pair from {@link #generateKeyPair}. */
    public static byte[] publicKeyOf(byte[] keyPair) {
        requireKeyPair(keyPair);
        return Arrays.copyOfRange(keyPair, X25519_KEY_BYTES, 2 * X25519_KEY_BYTES);
    }

    /** The key id of a public key: the first 8 bytes of its SHA-256, in lower-case hex. */
    public static String keyId(byte[] publicKey) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(publicKey), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Seals {@code plaintext} to the policy's public key. Works offline. */
    public static byte[] seal(String policyId, byte[] publicKey, byte[] plaintext) {
        if (publicKey.length != X25519_KEY_BYTES) {
            throw new IllegalArgumentException("a sealing public key is " + X25519_KEY_BYTES + " bytes (X25519), got "
                    + publicKey.length);
        }
        if (plaintext.length > MAX_PLAINTEXT_BYTES) {
            throw new IllegalArgumentException("at most " + MAX_PLAINTEXT_BYTES + " bytes can be sealed in one file");
        }
        HPKE h = hpke();
        AsymmetricKeyParameter pk = h.deserializePublicKey(publicKey);
        // enc is bound by HPKE itself (it is an input to the key schedule); the AAD covers the rest of the header
        byte[] fixed = fixedHeader(policyId, keyId(publicKey));
        try {
            byte[][] ctEnc = h.seal(pk, INFO, fixed, plaintext, null, null, null);
            byte[] enc = ctEnc[1];
            ByteArrayOutputStream out = new ByteArrayOutputStream(fixed.length + 2 + enc.length + ctEnc[0].length);
            out.writeBytes(fixed);
            out.writeBytes(ByteBuffer.allocate(2).putShort((short) enc.length).array());
            out.writeBytes(enc);
            out.writeBytes(ctEnc[0]);
            return out.toByteArray();
        } catch (InvalidCipherTextException e) {
            throw new IllegalStateException("HPKE seal failed: " + e.getMessage(), e);
        }
    }

    /**
     * Reads the header.
     *
     * @throws SealedFileException when the data is not a sealed file of this format or names another suite
     */
    public static Header header(byte[] sealed) throws SealedFileException {
        try {
            ByteBuffer b = ByteBuffer.wrap(sealed);
            byte[] magic = new byte[MAGIC.length];
            b.get(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new SealedFileException("not an AttestMesh sealed file (bad magic)");
            }
            String policy = new String(field(b, 128), StandardCharsets.UTF_8);
            String keyId = new String(field(b, 16), StandardCharsets.US_ASCII);
            if (!KEY_ID.matcher(keyId).matches()) {
                throw new SealedFileException("sealed file names a malformed key id");
            }
            short kem = b.getShort();
            short kdf = b.getShort();
            short aead = b.getShort();
            if (kem != KEM || kdf != KDF || aead != AEAD) {
                throw new SealedFileException(String.format("sealed file uses HPKE suite kem=0x%04x kdf=0x%04x "
                        + "aead=0x%04x; only %s is supported", kem, kdf, aead, SUITE));
            }
            int fixedLength = b.position();
            byte[] enc = field(b, 64);
            if (enc.length != X25519_KEY_BYTES) {
                throw new SealedFileException("sealed file's encapsulated key is " + enc.length + " bytes, not 32");
            }
            if (b.remaining() < 16) {
                throw new SealedFileException("sealed file is truncated (no ciphertext)");
            }
            return new Header(policy, keyId, kem, kdf, aead, enc, fixedLength);
        } catch (BufferUnderflowException e) {
            throw new SealedFileException("sealed file is truncated");
        }
    }

    /**
     * Opens a sealed file with a released key pair ({@code private || public}).
     *
     * @throws SealedFileException when the key is not the one the file was sealed to, or the file was altered
     */
    public static byte[] open(byte[] sealed, byte[] keyPair) throws SealedFileException {
        requireKeyPair(keyPair);
        Header h = header(sealed);
        byte[] publicKey = publicKeyOf(keyPair);
        if (!keyId(publicKey).equals(h.keyId())) {
            throw new SealedFileException("the file was sealed to key " + h.keyId() + " of policy '" + h.policyId()
                    + "', not to key " + keyId(publicKey));
        }
        HPKE hpke = hpke();
        AsymmetricCipherKeyPair kp = hpke.deserializePrivateKey(Arrays.copyOf(keyPair, X25519_KEY_BYTES), publicKey);
        int ctStart = h.length() + 2 + h.enc().length;
        byte[] fixed = Arrays.copyOf(sealed, h.length());
        try {
            return hpke.open(h.enc(), kp, INFO, fixed, Arrays.copyOfRange(sealed, ctStart, sealed.length), null, null,
                    null);
        } catch (InvalidCipherTextException e) {
            throw new SealedFileException("the sealed file does not open: its header or ciphertext was altered");
        }
    }

    private static byte[] fixedHeader(String policyId, String keyId) {
        byte[] p = policyId.getBytes(StandardCharsets.UTF_8);
        byte[] k = keyId.getBytes(StandardCharsets.US_ASCII);
        return ByteBuffer.allocate(MAGIC.length + 2 + p.length + 2 + k.length + 6).put(MAGIC)
                .putShort((short) p.length).put(p).putShort((short) k.length).put(k)
                .putShort(KEM).putShort(KDF).putShort(AEAD).array();
    }

    private static byte[] field(ByteBuffer b, int max) throws SealedFileException {
        int n = Short.toUnsignedInt(b.getShort());
        if (n > max) {
            throw new SealedFileException("sealed file header field of " + n + " bytes exceeds " + max);
        }
        byte[] out = new byte[n];
        b.get(out);
        return out;
    }

    private static void requireKeyPair(byte[] keyPair) {
        if (keyPair.length != 2 * X25519_KEY_BYTES) {
            throw new IllegalArgumentException("a sealing key file holds 64 bytes (X25519 private || public), got "
                    + keyPair.length);
        }
    }
}
