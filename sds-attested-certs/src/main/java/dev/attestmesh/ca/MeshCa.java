package dev.attestmesh.ca;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The mesh certificate authority: a self-signed root (10 years) and an issuing intermediate (1 year,
 * never beyond the root), both ECDSA P-256 with SHA-256. Instances are immutable; rotating the
 * intermediate returns a new instance whose {@link #trustBundle()} keeps the previous intermediate
 * until its overlap ends, so certificates it issued keep verifying while nodes renew.
 *
 * <p>The CA also holds the issuance log's checkpoint signing key ({@link CheckpointKey}), certified by
 * the root and kept across intermediate rotations.
 *
 * <p>Private keys are reachable only from this package (the issuer and {@link CaVault}).
 */
public final class MeshCa {
    static final Duration ROOT_LIFETIME = Duration.ofDays(3650);
    static final Duration INTERMEDIATE_LIFETIME = Duration.ofDays(365);
    /** CA certificates are backdated a little so that nodes with a slow clock accept them at once. */
    private static final Duration BACKDATE = Duration.ofMinutes(5);
    private static final SecureRandom RANDOM = new SecureRandom();

    /** An intermediate that was replaced by rotation and stays trusted until {@code overlapEnd}. */
    record RetiredIntermediate(X509Certificate certificate, Instant overlapEnd) {}

    private final String trustDomain;
    private final Clock clock;
    private final X509Certificate root;
    private final PrivateKey rootKey;
    private final X509Certificate intermediate;
    private final PrivateKey intermediateKey;
    private final List<RetiredIntermediate> retired;
    private final Optional<CheckpointKey> checkpointKey;

    MeshCa(String trustDomain, Clock clock, X509Certificate root, PrivateKey rootKey, X509Certificate intermediate,
            PrivateKey intermediateKey, List<RetiredIntermediate> retired, Optional<CheckpointKey> checkpointKey) {
        this.trustDomain = Objects.requireNonNull(trustDomain);
        this.clock = Objects.requireNonNull(clock);
        this.root = Objects.requireNonNull(root);
        this.rootKey = Objects.requireNonNull(rootKey);
        this.intermediate = Objects.requireNonNull(intermediate);
        this.intermediateKey = Objects.requireNonNull(intermediateKey);
        this.retired = List.copyOf(retired);
        this.checkpointKey = Objects.requireNonNull(checkpointKey);
    }

    /**
     * Generates a new root and issuing intermediate for {@code trustDomain}.
     *
     * @throws IllegalArgumentException when the trust domain is not a valid SPIFFE trust domain
     */
    public static MeshCa generate(String trustDomain, Clock clock) {
        SpiffeId.validateTrustDomain(trustDomain);
        Instant now = clock.instant();
        KeyPair rootPair = newKeyPair();
        X500Name rootName = name(trustDomain, "AttestMesh Root CA");
        X509Certificate root = caCertificate(rootName, rootPair.getPublic(), rootName, rootPair.getPrivate(),
                null, now.minus(BACKDATE), now.plus(ROOT_LIFETIME), -1);
        KeyPair interPair = newKeyPair();
        X509Certificate inter = intermediate(trustDomain, root, rootPair.getPrivate(), interPair.getPublic(), now);
        CheckpointKey checkpoints = CheckpointKey.generate(trustDomain, root, rootPair.getPrivate(), now);
        return new MeshCa(trustDomain, clock, root, rootPair.getPrivate(), inter, interPair.getPrivate(), List.of(),
                Optional.of(checkpoints));
    }

    /**
     * Replaces the issuing intermediate with a fresh one. The current intermediate stays in the
     * trust bundle for {@code overlap} (but never past its own expiry); intermediates retired earlier
     * whose overlap has ended are dropped.
     */
    public MeshCa rotateIntermediate(Duration overlap) {
        if (overlap.isNegative()) {
            throw new IllegalArgumentException("rotation overlap must not be negative: " + overlap);
        }
        Instant now = clock.instant();
        List<RetiredIntermediate> keep = new ArrayList<>();
        for (RetiredIntermediate r : retired) {
            if (r.overlapEnd().isAfter(now)) {
                keep.add(r);
            }
        }
        Instant end = min(now.plus(overlap), intermediate.getNotAfter().toInstant());
        keep.add(new RetiredIntermediate(intermediate, end));
        KeyPair pair = newKeyPair();
        X509Certificate next = intermediate(trustDomain, root, rootKey, pair.getPublic(), now);
        return new MeshCa(trustDomain, clock, root, rootKey, next, pair.getPrivate(), keep, checkpointKey);
    }

    /**
     * This CA with an issuance-log checkpoint key: itself when it has one, else a copy with a new key
     * certified by the root (for a CA sealed by a version that had no checkpoint key; the caller seals
     * and stores the result).
     */
    public MeshCa withCheckpointKey() {
        if (checkpointKey.isPresent()) {
            return this;
        }
        return new MeshCa(trustDomain, clock, root, rootKey, intermediate, intermediateKey, retired,
                Optional.of(CheckpointKey.generate(trustDomain, root, rootKey, clock.instant())));
    }

    /**
     * The key that signs issuance-log checkpoints (see {@link CheckpointKey}); empty only for a CA restored
     * from a file sealed before checkpoints existed, until {@link #withCheckpointKey} adds one.
     */
    public Optional<CheckpointKey> checkpointKey() {
        return checkpointKey;
    }

    public X509Certificate root() {
        return root;
    }

    /** The intermediate that signs new leaf certificates. */
    public X509Certificate issuingIntermediate() {
        return intermediate;
    }

    /**
     * What peers should trust, at the clock's current time: the root, the issuing intermediate, and
     * every retired intermediate whose overlap has not ended. Intermediates are included so that a
     * verifier holding only a peer's leaf (as ext_authz does) can build the chain.
     */
    public List<X509Certificate> trustBundle() {
        Instant now = clock.instant();
        List<X509Certificate> out = new ArrayList<>();
        out.add(root);
        out.add(intermediate);
        for (RetiredIntermediate r : retired) {
            if (r.overlapEnd().isAfter(now)) {
                out.add(r.certificate());
            }
        }
        return List.copyOf(out);
    }

    public String trustDomain() {
        return trustDomain;
    }

    Clock clock() {
        return clock;
    }

    PrivateKey rootKey() {
        return rootKey;
    }

    PrivateKey issuingKey() {
        return intermediateKey;
    }

    List<RetiredIntermediate> retiredIntermediates() {
        return retired;
    }

    @Override
    public String toString() {
        // never print keys
        return "MeshCa[trustDomain=" + trustDomain + ", root=" + root.getSubjectX500Principal().getName()
                + ", intermediate=" + intermediate.getSubjectX500Principal().getName() + ", retired=" + retired.size() + "]";
    }

    static KeyPair newKeyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("P-256 key generation is not available in this JVM", e);
        }
    }

    private static X509Certificate intermediate(String td, X509Certificate root, PrivateKey rootKey, PublicKey key,
            Instant now) {
        String stamp = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC).format(now);
        Instant notAfter = min(now.plus(INTERMEDIATE_LIFETIME), root.getNotAfter().toInstant());
        return caCertificate(name(td, "AttestMesh Issuing CA " + stamp), key,
                X500Name.getInstance(root.getSubjectX500Principal().getEncoded()), rootKey, root,
                now.minus(BACKDATE), notAfter, 0);
    }

    private static X500Name name(String td, String cn) {
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "AttestMesh").addRDN(BCStyle.OU, td)
                .addRDN(BCStyle.CN, cn).build();
    }

    /** @param pathLen -1 for no path length constraint (the root) */
    private static X509Certificate caCertificate(X500Name subject, PublicKey key, X500Name issuer, PrivateKey signer,
            X509Certificate issuerCert, Instant notBefore, Instant notAfter, int pathLen) {
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, new BigInteger(127, RANDOM).add(BigInteger.ONE),
                    Date.from(notBefore), Date.from(notAfter), subject, key);
            b.addExtension(Extension.basicConstraints, true, pathLen < 0 ? new BasicConstraints(true) : new BasicConstraints(pathLen));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(key));
            b.addExtension(Extension.authorityKeyIdentifier, false, issuerCert == null
                    ? ext.createAuthorityKeyIdentifier(key) : ext.createAuthorityKeyIdentifier(issuerCert));
            var holder = b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer));
            return new JcaX509CertificateConverter().getCertificate(holder);
        } catch (GeneralSecurityException | OperatorCreationException | CertIOException e) {
            throw new IllegalStateException("could not build CA certificate " + subject, e);
        }
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }
}
