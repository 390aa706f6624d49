package dev.attestmesh.ca;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The key that signs the issuance log's checkpoints (signed tree heads), held with the mesh CA and
 * sealed with it ({@link CaVault}). It is a dedicated Ed25519 key rather than a CA key because
 *
 * <ul>
 *   <li>checkpoints must stay verifiable for the life of the log, while the issuing intermediate rotates
 *       (and is dropped from the trust bundle after its overlap); this key is certified directly by the
 *       10-year root and survives rotation;
 *   <li>the CA keys sign certificates only ({@code keyCertSign}); signing arbitrary text with them would
 *       let a crafted note be confused with a certificate or CRL. This key's certificate allows
 *       {@code digitalSignature} with the single extended key usage
 *       {@link AttestMeshOids#CHECKPOINT_SIGNING_EKU}, and is not a CA;
 *   <li>Ed25519 is signature type {@code 0x01} of the C2SP signed-note format, so standard note
 *       verifiers (Go's {@code golang.org/x/mod/sumdb/note}, OpenSSL) check a checkpoint without
 *       AttestMesh code; signatures are deterministic, needing no randomness on the signing path.
 * </ul>
 *
 * The private key is reachable only from this package (signing goes through {@link #sign}).
 */
public final class CheckpointKey {
    /** The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw 32-byte key follows it. */
    private static final byte[] ED25519_SPKI_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");
    private static final Duration BACKDATE = Duration.ofMinutes(5);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final X509Certificate certificate;
    private final PrivateKey privateKey;
    private final byte[] publicKey;

    private CheckpointKey(X509Certificate certificate, PrivateKey privateKey) {
        this.certificate = Objects.requireNonNull(certificate);
        this.privateKey = Objects.requireNonNull(privateKey);
        this.publicKey = rawEd25519(certificate.getPublicKey());
    }

    /**
     * Generates a key and certifies it under {@code root}: valid from shortly before {@code now} until the
     * root expires.
     */
    static CheckpointKey generate(String trustDomain, X509Certificate root, PrivateKey rootKey, Instant now) {
        KeyPair pair;
        try {
            pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Ed25519 key generation is not available in this JVM", e);
        }
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "AttestMesh")
                .addRDN(BCStyle.OU, trustDomain).addRDN(BCStyle.CN, "AttestMesh Issuance Log Checkpoints").build();
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            var b = new JcaX509v3CertificateBuilder(X500Name.getInstance(root.getSubjectX500Principal().getEncoded()),
                    new BigInteger(127, RANDOM).add(BigInteger.ONE), Date.from(now.minus(BACKDATE)), root.getNotAfter(),
                    subject, pair.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                    KeyPurposeId.getInstance(new ASN1ObjectIdentifier(AttestMeshOids.CHECKPOINT_SIGNING_EKU))));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(root));
            X509Certificate cert = new JcaX509CertificateConverter().getCertificate(
                    b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(rootKey)));
            return new CheckpointKey(cert, pair.getPrivate());
        } catch (GeneralSecurityException | OperatorCreationException | CertIOException e) {
            throw new IllegalStateException("could not certify the checkpoint signing key", e);
        }
    }

    /** A key restored from the sealed CA; refuses a certificate that does not hold the private key's pair. */
    static CheckpointKey restore(X509Certificate certificate, PrivateKey privateKey) {
        CheckpointKey k = new CheckpointKey(certificate, privateKey);
        byte[] probe = "attestmesh checkpoint key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        if (!verify(k.publicKey, probe, k.sign(probe))) {
            throw new IllegalStateException("the stored checkpoint certificate does not match the stored checkpoint key");
        }
        return k;
    }

    /** The certificate of this key, issued by the mesh root. */
    public X509Certificate certificate() {
        return certificate;
    }

    /** The 32-byte Ed25519 public key (RFC 8032 encoding). */
    public byte[] publicKey() {
        return publicKey.clone();
    }

    /** The 64-byte Ed25519 signature of {@code message}. */
    public byte[] sign(byte[] message) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(privateKey);
            s.update(message);
            return s.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Ed25519 signing failed", e);
        }
    }

    PrivateKey privateKey() {
        return privateKey;
    }

    /**
     * Checks that {@code signer} is a checkpoint signing certificate issued by {@code root} and valid at
     * {@code at}, and returns its 32-byte Ed25519 public key.
     *
     * @throws IllegalArgumentException naming the first check that failed
     */
    public static byte[] verifiedPublicKey(X509Certificate signer, X509Certificate root, Instant at) {
        try {
            signer.verify(root.getPublicKey());
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("the checkpoint signing certificate is not signed by the given root CA ("
                    + root.getSubjectX500Principal().getName() + ")");
        }
        if (!signer.getIssuerX500Principal().equals(root.getSubjectX500Principal())) {
            throw new IllegalArgumentException("the checkpoint signing certificate names issuer "
                    + signer.getIssuerX500Principal().getName() + ", not the root CA");
        }
        if (signer.getBasicConstraints() >= 0) {
            throw new IllegalArgumentException("the checkpoint signing certificate is a CA certificate");
        }
        boolean[] ku = signer.getKeyUsage();
        if (ku == null || !ku[0]) {
            throw new IllegalArgumentException("the checkpoint signing certificate does not allow digitalSignature");
        }
        List<String> eku;
        try {
            eku = signer.getExtendedKeyUsage();
        } catch (CertificateParsingException e) {
            throw new IllegalArgumentException("the checkpoint signing certificate's extended key usage is malformed");
        }
        if (eku == null || !eku.contains(AttestMeshOids.CHECKPOINT_SIGNING_EKU)) {
            throw new IllegalArgumentException("the certificate lacks the checkpoint signing extended key usage "
                    + AttestMeshOids.CHECKPOINT_SIGNING_EKU + ": it is not a checkpoint signing certificate");
        }
        if (at.isBefore(signer.getNotBefore().toInstant()) || at.isAfter(signer.getNotAfter().toInstant())) {
            throw new IllegalArgumentException("the checkpoint signing certificate is valid " + signer.getNotBefore().toInstant()
                    + " .. " + signer.getNotAfter().toInstant() + ", not at " + at);
        }
        return rawEd25519(signer.getPublicKey());
    }

    /** Whether {@code signature} is a valid Ed25519 signature of {@code message} by the raw {@code publicKey}. */
    public static boolean verify(byte[] publicKey, byte[] message, byte[] signature) {
        if (publicKey.length != 32 || signature.length != 64) {
            return false;
        }
        try {
            byte[] spki = Arrays.copyOf(ED25519_SPKI_PREFIX, ED25519_SPKI_PREFIX.length + 32);
            System.arraycopy(publicKey, 0, spki, ED25519_SPKI_PREFIX.length, 32);
            PublicKey key = java.security.KeyFactory.getInstance("Ed25519")
                    .generatePublic(new java.security.spec.X509EncodedKeySpec(spki));
            Signature s = Signature.getInstance("Ed25519");
            s.initVerify(key);
            s.update(message);
            return s.verify(signature);
        } catch (GeneralSecurityException e) {
            return false; // an invalid point or a malformed signature does not verify
        }
    }

    private static byte[] rawEd25519(PublicKey key) {
        byte[] spki = key.getEncoded();
        if (spki == null || spki.length != ED25519_SPKI_PREFIX.length + 32
                || !Arrays.equals(spki, 0, ED25519_SPKI_PREFIX.length, ED25519_SPKI_PREFIX, 0, ED25519_SPKI_PREFIX.length)) {
            throw new IllegalArgumentException("the checkpoint signing certificate's key is not Ed25519");
        }
        return Arrays.copyOfRange(spki, ED25519_SPKI_PREFIX.length, spki.length);
    }

    @Override
    public String toString() {
        return "CheckpointKey[" + certificate.getSubjectX500Principal().getName() + ", serial "
                + certificate.getSerialNumber().toString(16) + "]"; // never the private key
    }
}
