package dev.attestmesh.ca;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.text.ParseException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1GeneralizedTime;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.ASN1UTF8String;
import org.bouncycastle.asn1.DERGeneralizedTime;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.DERUTF8String;

/**
 * Encryption at rest for the mesh CA (root and intermediate keys, certificates, retired
 * intermediates). The sealed form is
 *
 * <pre>
 * "AMCAVLT" (7 bytes) | format version (1 byte, = 1) | PBKDF2 iterations (4 bytes, big-endian)
 * | salt (16 random bytes) | GCM nonce (12 random bytes) | AES-256-GCM ciphertext with 128-bit tag
 * </pre>
 *
 * The AES key is PBKDF2-HMAC-SHA256(secret, salt, iterations); the header is authenticated as
 * associated data, so changing any header byte makes unsealing fail. Plaintext is a DER SEQUENCE of
 * the CA state: version 1, trust domain, root certificate and key, intermediate certificate and key,
 * retired intermediates, and (when present) the issuance log's checkpoint certificate and key. Neither
 * the secret nor key material ever appears in messages or logs.
 *
 * <p>Format version 2 seals to a key only the TEE can obtain ({@link TeeSealingKey}):
 *
 * <pre>
 * "AMCAVLT" | format version (1 byte, = 2) | key source id (1 byte) | salt (16 random bytes)
 * | GCM nonce (12 random bytes) | AES-256-GCM ciphertext with 128-bit tag
 * </pre>
 *
 * with the AES key HKDF-SHA256(ikm = TEE key, salt, info = "attestmesh-ca-vault-v2" || source id), the
 * header again authenticated, and the same plaintext as version 1.
 */
public final class CaVault {
    /** OWASP 2023 guidance for PBKDF2-HMAC-SHA256. */
    public static final int ITERATIONS = 210_000;
    private static final byte[] MAGIC = "AMCAVLT".getBytes(StandardCharsets.US_ASCII);
    private static final int FORMAT_VERSION = 1;
    private static final int SALT = 16;
    private static final int NONCE = 12;
    private static final int HEADER = MAGIC.length + 1 + 4 + SALT + NONCE;
    /** Refuse absurd iteration counts in a (possibly hostile) file rather than spinning for hours. */
    private static final int MAX_ITERATIONS = 10_000_000;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String WRONG_KEY = "wrong CA encryption key or corrupted CA file";

    private CaVault() {}

    /** Encrypts {@code ca} under {@code secret}. A fresh salt and nonce are drawn for every call. */
    public static byte[] seal(MeshCa ca, char[] secret) {
        if (secret.length == 0) {
            throw new IllegalArgumentException("CA encryption secret is empty; configure a non-empty secret");
        }
        byte[] salt = new byte[SALT];
        byte[] nonce = new byte[NONCE];
        RANDOM.nextBytes(salt);
        RANDOM.nextBytes(nonce);
        ByteBuffer header = ByteBuffer.allocate(HEADER);
        header.put(MAGIC).put((byte) FORMAT_VERSION).putInt(ITERATIONS).put(salt).put(nonce);
        byte[] plain = serialize(ca);
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, deriveKey(secret, salt, ITERATIONS), new GCMParameterSpec(128, nonce));
            c.updateAAD(header.array());
            byte[] ct = c.doFinal(plain);
            return ByteBuffer.allocate(HEADER + ct.length).put(header.array()).put(ct).array();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256-GCM is not available in this JVM", e);
        } finally {
            Arrays.fill(plain, (byte) 0);
        }
    }

    /**
     * Decrypts a file produced by {@link #seal}.
     *
     * @param clock the clock the restored CA uses for validity and rotation overlap decisions
     * @throws CaVaultException "wrong CA encryption key or corrupted CA file" when authentication
     *     fails; a specific message for an unknown format
     */
    public static MeshCa unseal(byte[] sealed, char[] secret, Clock clock) throws CaVaultException {
        if (sealed.length < HEADER + 16 || !Arrays.equals(sealed, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new CaVaultException("not an AttestMesh sealed CA file (bad magic or too short)");
        }
        ByteBuffer b = ByteBuffer.wrap(sealed);
        b.position(MAGIC.length);
        int version = Byte.toUnsignedInt(b.get());
        if (version == TEE_FORMAT_VERSION) {
            throw new CaVaultException("the CA file is sealed to a TEE key, not the operator key: it opens only inside the "
                    + "TEE that sealed it");
        }
        if (version != FORMAT_VERSION) {
            throw new CaVaultException("sealed CA file format version " + version + " is not supported by this build (expects "
                    + FORMAT_VERSION + ")");
        }
        int iterations = b.getInt();
        if (iterations < ITERATIONS || iterations > MAX_ITERATIONS) {
            throw new CaVaultException("sealed CA file declares " + iterations + " PBKDF2 iterations, outside "
                    + ITERATIONS + ".." + MAX_ITERATIONS + "; the file is corrupted");
        }
        byte[] salt = new byte[SALT];
        byte[] nonce = new byte[NONCE];
        b.get(salt).get(nonce);
        byte[] plain;
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, deriveKey(secret, salt, iterations), new GCMParameterSpec(128, nonce));
            c.updateAAD(sealed, 0, HEADER);
            plain = c.doFinal(sealed, HEADER, sealed.length - HEADER);
        } catch (AEADBadTagException e) {
            throw new CaVaultException(WRONG_KEY);
        } catch (GeneralSecurityException e) {
            throw new CaVaultException(WRONG_KEY, e);
        }
        try {
            return deserialize(plain, clock);
        } finally {
            Arrays.fill(plain, (byte) 0);
        }
    }

    private static final int TEE_FORMAT_VERSION = 2;
    private static final int TEE_HEADER = MAGIC.length + 1 + 1 + SALT + NONCE;
    private static final byte[] HKDF_INFO = "attestmesh-ca-vault-v2".getBytes(StandardCharsets.US_ASCII);

    /**
     * The TEE key source a sealed file needs, or empty when it is sealed under the operator secret
     * (format 1).
     *
     * @throws CaVaultException for a file that is not a sealed CA or names an unknown source
     */
    public static Optional<TeeSealingKey.Source> teeSource(byte[] sealed) throws CaVaultException {
        if (sealed.length < MAGIC.length + 2 || !Arrays.equals(sealed, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new CaVaultException("not an AttestMesh sealed CA file (bad magic or too short)");
        }
        int version = Byte.toUnsignedInt(sealed[MAGIC.length]);
        if (version == FORMAT_VERSION) {
            return Optional.empty();
        }
        if (version != TEE_FORMAT_VERSION) {
            throw new CaVaultException("sealed CA file format version " + version + " is not supported by this build");
        }
        int id = Byte.toUnsignedInt(sealed[MAGIC.length + 1]);
        return Optional.of(TeeSealingKey.Source.byId(id).orElseThrow(() -> new CaVaultException(
                "sealed CA file names TEE key source " + id + ", which this build does not know")));
    }

    /** Encrypts {@code ca} to {@code key} (format 2). A fresh salt and nonce are drawn for every call. */
    public static byte[] sealToTee(MeshCa ca, TeeSealingKey key) {
        byte[] salt = new byte[SALT];
        byte[] nonce = new byte[NONCE];
        RANDOM.nextBytes(salt);
        RANDOM.nextBytes(nonce);
        ByteBuffer header = ByteBuffer.allocate(TEE_HEADER);
        header.put(MAGIC).put((byte) TEE_FORMAT_VERSION).put((byte) key.source().id()).put(salt).put(nonce);
        byte[] plain = serialize(ca);
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, hkdf(key, salt), new GCMParameterSpec(128, nonce));
            c.updateAAD(header.array());
            byte[] ct = c.doFinal(plain);
            return ByteBuffer.allocate(TEE_HEADER + ct.length).put(header.array()).put(ct).array();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256-GCM is not available in this JVM", e);
        } finally {
            Arrays.fill(plain, (byte) 0);
        }
    }

    /**
     * Decrypts a file produced by {@link #sealToTee}.
     *
     * @throws CaVaultException naming the source when the file is sealed to another kind of key, and saying that
     *     the key differs (another measurement, another machine) or the file is corrupted when authentication fails
     */
    public static MeshCa unsealFromTee(byte[] sealed, TeeSealingKey key, Clock clock) throws CaVaultException {
        Optional<TeeSealingKey.Source> source = teeSource(sealed);
        if (source.isEmpty()) {
            throw new CaVaultException("the CA file is sealed under the operator key (format 1), not a TEE key");
        }
        if (source.get() != key.source()) {
            throw new CaVaultException("the CA file is sealed to a " + source.get().wireName() + " but this control "
                    + "plane offers a " + key.source().wireName());
        }
        if (sealed.length < TEE_HEADER + 16) {
            throw new CaVaultException("sealed CA file is truncated");
        }
        byte[] salt = Arrays.copyOfRange(sealed, MAGIC.length + 2, MAGIC.length + 2 + SALT);
        byte[] nonce = Arrays.copyOfRange(sealed, MAGIC.length + 2 + SALT, TEE_HEADER);
        byte[] plain;
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, hkdf(key, salt), new GCMParameterSpec(128, nonce));
            c.updateAAD(sealed, 0, TEE_HEADER);
            plain = c.doFinal(sealed, TEE_HEADER, sealed.length - TEE_HEADER);
        } catch (GeneralSecurityException e) {
            throw new CaVaultException("the " + key.source().wireName() + " of this TEE does not open the CA file: it was "
                    + "sealed by a TEE with another measurement or on another machine, or the file is corrupted");
        }
        try {
            return deserialize(plain, clock);
        } finally {
            Arrays.fill(plain, (byte) 0);
        }
    }

    /** HKDF-SHA256 (RFC 5869) with one output block: 32 bytes of AES key. */
    private static SecretKey hkdf(TeeSealingKey key, byte[] salt) throws GeneralSecurityException {
        javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
        byte[] ikm = key.material();
        try {
            mac.init(new SecretKeySpec(salt, "HmacSHA256"));
            byte[] prk = mac.doFinal(ikm);
            mac.init(new SecretKeySpec(prk, "HmacSHA256"));
            Arrays.fill(prk, (byte) 0);
            mac.update(HKDF_INFO);
            mac.update((byte) key.source().id());
            mac.update((byte) 1);
            byte[] okm = mac.doFinal();
            try {
                return new SecretKeySpec(okm, "AES");
            } finally {
                Arrays.fill(okm, (byte) 0);
            }
        } finally {
            Arrays.fill(ikm, (byte) 0);
        }
    }

    private static SecretKey deriveKey(char[] secret, byte[] salt, int iterations) throws GeneralSecurityException {
        PBEKeySpec spec = new PBEKeySpec(secret, salt, iterations, 256);
        try {
            byte[] k = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
            try {
                return new SecretKeySpec(k, "AES");
            } finally {
                Arrays.fill(k, (byte) 0);
            }
        } finally {
            spec.clearPassword();
        }
    }

    private static byte[] serialize(MeshCa ca) {
        try {
            ASN1EncodableVector v = new ASN1EncodableVector();
            v.add(new ASN1Integer(1));
            v.add(new DERUTF8String(ca.trustDomain()));
            v.add(new DEROctetString(ca.root().getEncoded()));
            v.add(new DEROctetString(ca.rootKey().getEncoded()));
            v.add(new DEROctetString(ca.issuingIntermediate().getEncoded()));
            v.add(new DEROctetString(ca.issuingKey().getEncoded()));
            ASN1EncodableVector retired = new ASN1EncodableVector();
            for (MeshCa.RetiredIntermediate r : ca.retiredIntermediates()) {
                retired.add(new DERSequence(new ASN1Encodable[] {new DEROctetString(r.certificate().getEncoded()),
                        new DERGeneralizedTime(Date.from(r.overlapEnd()))}));
            }
            v.add(new DERSequence(retired));
            // Added after format 1 was first written: readers of older files find no eighth element.
            if (ca.checkpointKey().isPresent()) {
                CheckpointKey k = ca.checkpointKey().get();
                v.add(new DERSequence(new ASN1Encodable[] {new DEROctetString(k.certificate().getEncoded()),
                        new DEROctetString(k.privateKey().getEncoded())}));
            }
            return new DERSequence(v).getEncoded(ASN1Encoding.DER);
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("could not serialize the CA state", e);
        }
    }

    private static MeshCa deserialize(byte[] plain, Clock clock) throws CaVaultException {
        try {
            ASN1Sequence s = ASN1Sequence.getInstance(plain);
            if (ASN1Integer.getInstance(s.getObjectAt(0)).intValueExact() != 1) {
                throw new CaVaultException("sealed CA state version is not supported by this build");
            }
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            KeyFactory kf = KeyFactory.getInstance("EC");
            String td = ASN1UTF8String.getInstance(s.getObjectAt(1)).getString();
            X509Certificate root = cert(cf, s.getObjectAt(2));
            PrivateKey rootKey = kf.generatePrivate(new PKCS8EncodedKeySpec(octets(s.getObjectAt(3))));
            X509Certificate inter = cert(cf, s.getObjectAt(4));
            PrivateKey interKey = kf.generatePrivate(new PKCS8EncodedKeySpec(octets(s.getObjectAt(5))));
            List<MeshCa.RetiredIntermediate> retired = new ArrayList<>();
            for (ASN1Encodable e : ASN1Sequence.getInstance(s.getObjectAt(6))) {
                ASN1Sequence r = ASN1Sequence.getInstance(e);
                retired.add(new MeshCa.RetiredIntermediate(cert(cf, r.getObjectAt(0)),
                        ASN1GeneralizedTime.getInstance(r.getObjectAt(1)).getDate().toInstant()));
            }
            Optional<CheckpointKey> checkpointKey = Optional.empty();
            if (s.size() > 7) {
                ASN1Sequence k = ASN1Sequence.getInstance(s.getObjectAt(7));
                checkpointKey = Optional.of(CheckpointKey.restore(cert(cf, k.getObjectAt(0)),
                        KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(octets(k.getObjectAt(1))))));
            }
            return new MeshCa(td, clock, root, rootKey, inter, interKey, retired, checkpointKey);
        } catch (GeneralSecurityException | ParseException | RuntimeException e) {
            // authenticated plaintext that does not parse: written by an incompatible build
            throw new CaVaultException("sealed CA state is unreadable (written by an incompatible version?)", e);
        }
    }

    private static byte[] octets(ASN1Encodable e) {
        return ASN1OctetString.getInstance(e).getOctets();
    }

    private static X509Certificate cert(CertificateFactory cf, ASN1Encodable e) throws GeneralSecurityException {
        return (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(octets(e)));
    }
}
