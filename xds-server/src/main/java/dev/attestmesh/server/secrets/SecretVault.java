package dev.attestmesh.server.secrets;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Encrypts secret values at rest under the key hierarchy of the mesh CA (docs/secrets.md, "At rest").
 *
 * <p>The CA encryption key ({@code ATTESTMESH_CA_KEY}, or the generated {@code ca-encryption.key}) is the root,
 * as for the sealed CA ({@code CaVault}). From it a secret-store master key is derived once:
 * {@code PBKDF2-HMAC-SHA256(caKey, "attestmesh-secret-store-v1", 210000, 256 bits)}. Each stored version then
 * gets its own key, {@code HKDF-SHA256(master, salt = 16 random bytes, info = "attestmesh-secret-v1" || name ||
 * 0x00 || u64 version)}, and AES-256-GCM with a random 12-byte nonce, the header and the name and version as
 * associated data. A sealed version copied to another name or version does not open.
 *
 * <p>Sealed layout: {@code "AMSECV1" | salt (16) | nonce (12) | ciphertext with 128-bit tag}.
 */
public final class SecretVault {
    private static final byte[] MAGIC = "AMSECV1".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] MASTER_SALT = "attestmesh-secret-store-v1".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] INFO = "attestmesh-secret-v1".getBytes(StandardCharsets.US_ASCII);
    private static final int ITERATIONS = 210_000;
    private static final int SALT = 16;
    private static final int NONCE = 12;
    private static final int HEADER = MAGIC.length + SALT + NONCE;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final byte[] master;

    private SecretVault(byte[] master) {
        this.master = master;
    }

    /** A vault whose master key derives from the CA encryption key {@code caKey}. */
    public static SecretVault fromCaKey(char[] caKey) {
        try {
            PBEKeySpec spec = new PBEKeySpec(caKey, MASTER_SALT, ITERATIONS, 256);
            try {
                return new SecretVault(SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec)
                        .getEncoded());
            } finally {
                spec.clearPassword();
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("PBKDF2-HMAC-SHA256 is not available in this JVM", e);
        }
    }

    /**
     * The vault of a control plane whose CA is sealed to its TEE: the master key is HKDF-SHA256 of the TEE's sealing
     * key with its own label, so secrets open only in a TEE with the same measurement, as the CA does.
     */
    public static SecretVault fromTeeKey(dev.attestmesh.ca.TeeSealingKey key) {
        org.bouncycastle.crypto.generators.HKDFBytesGenerator hkdf =
                new org.bouncycastle.crypto.generators.HKDFBytesGenerator(new org.bouncycastle.crypto.digests.SHA256Digest());
        hkdf.init(new org.bouncycastle.crypto.params.HKDFParameters(key.material(), MASTER_SALT,
                "attestmesh secret vault v1".getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
        byte[] master = new byte[32];
        hkdf.generateBytes(master, 0, master.length);
        return new SecretVault(master);
    }

    /** Seals {@code value} as version {@code version} of secret {@code name}. */
    public byte[] seal(String name, long version, byte[] value) {
        byte[] salt = new byte[SALT];
        byte[] nonce = new byte[NONCE];
        RANDOM.nextBytes(salt);
        RANDOM.nextBytes(nonce);
        ByteBuffer out = ByteBuffer.allocate(HEADER + value.length + 16);
        out.put(MAGIC).put(salt).put(nonce);
        byte[] key = versionKey(salt, name, version);
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, nonce));
            c.updateAAD(out.array(), 0, HEADER);
            c.updateAAD(binding(name, version));
            out.put(c.doFinal(value));
            return out.array();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256-GCM is not available in this JVM", e);
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    /**
     * Opens what {@link #seal} produced for the same name and version.
     *
     * @throws SecretStoreException when the data is not a sealed secret, was altered, belongs to another name or
     *     version, or was sealed under another CA encryption key (no detail that would help an attacker)
     */
    public byte[] open(String name, long version, byte[] sealed) {
        if (sealed.length < HEADER + 16 || !Arrays.equals(sealed, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new SecretStoreException("stored secret '" + name + "' v" + version + " is not a sealed secret");
        }
        byte[] salt = Arrays.copyOfRange(sealed, MAGIC.length, MAGIC.length + SALT);
        byte[] nonce = Arrays.copyOfRange(sealed, MAGIC.length + SALT, HEADER);
        byte[] key = versionKey(salt, name, version);
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, nonce));
            c.updateAAD(sealed, 0, HEADER);
            c.updateAAD(binding(name, version));
            return c.doFinal(sealed, HEADER, sealed.length - HEADER);
        } catch (javax.crypto.AEADBadTagException e) {
            throw new SecretStoreException("stored secret '" + name + "' v" + version
                    + " does not open: altered, moved, or sealed under another CA encryption key");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256-GCM is not available in this JVM", e);
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    private static byte[] binding(String name, long version) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(n.length + 9).put(n).put((byte) 0).putLong(version).array();
    }

    /** HKDF-SHA256 (RFC 5869) extract and one expand block: 32 bytes. */
    private byte[] versionKey(byte[] salt, String name, long version) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(salt, "HmacSHA256"));
            byte[] prk = mac.doFinal(master);
            mac.init(new SecretKeySpec(prk, "HmacSHA256"));
            mac.update(INFO);
            mac.update(binding(name, version));
            mac.update((byte) 1);
            byte[] okm = mac.doFinal();
            Arrays.fill(prk, (byte) 0);
            return okm;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is not available in this JVM", e);
        }
    }
}
