package dev.attestmesh.ca;

import java.io.IOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import dev.attestmesh.quote.trust.EcdsaP256;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.OtherName;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;

/**
 * Issues leaf certificates that carry a node's attestation claims, per the AttestMesh certificate
 * profile: ECDSA P-256 key from the validated CSR; exactly one URI SAN (the SPIFFE ID); one {@code
 * otherName} SAN per satisfied policy (type-id {@link AttestMeshOids#POLICY_SAN}, UTF8String policy
 * ID); the claims extension (non-critical); keyUsage digitalSignature and keyAgreement (critical);
 * extendedKeyUsage serverAuth and clientAuth; basicConstraints CA=false (critical); a random
 * positive 128-bit serial; notBefore backdated 30 s for clock skew; notAfter the earlier of now + TTL
 * and the intermediate's expiry.
 *
 * <p>Thread-safe. The intermediate key is prepared once for signing ({@link EcdsaContentSigner}),
 * because issuance is on the hot path of every attestation and renewal.
 */
public final class AttestationBoundIssuer {
    static final Duration BACKDATE = Duration.ofSeconds(30);
    private static final ASN1ObjectIdentifier CLAIMS_OID = new ASN1ObjectIdentifier(AttestMeshOids.CLAIMS_EXTENSION);
    private static final ASN1ObjectIdentifier POLICY_SAN_OID = new ASN1ObjectIdentifier(AttestMeshOids.POLICY_SAN);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is not available in this JVM", e);
        }
    });

    private final MeshCa ca;
    private final Clock clock;
    private final X500Name issuerName;
    private final X500Name subjectName;
    private final Extension authorityKeyId;
    private final Extension basicConstraints;
    private final Extension keyUsage;
    private final Extension extendedKeyUsage;
    private final Optional<EcdsaP256.SigningKey> signingKey;

    public AttestationBoundIssuer(MeshCa ca, Clock clock) {
        this.ca = Objects.requireNonNull(ca, "ca");
        this.clock = Objects.requireNonNull(clock, "clock");
        X509Certificate inter = ca.issuingIntermediate();
        this.issuerName = X500Name.getInstance(inter.getSubjectX500Principal().getEncoded());
        this.subjectName = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "AttestMesh")
                .addRDN(BCStyle.OU, ca.trustDomain()).build();
        try {
            AuthorityKeyIdentifier aki = new JcaX509ExtensionUtils().createAuthorityKeyIdentifier(inter);
            this.authorityKeyId = new Extension(Extension.authorityKeyIdentifier, false, aki.getEncoded());
            this.basicConstraints = new Extension(Extension.basicConstraints, true, new BasicConstraints(false).getEncoded());
            this.keyUsage = new Extension(Extension.keyUsage, true,
                    new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement).getEncoded());
            this.extendedKeyUsage = new Extension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                    new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}).getEncoded());
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("could not prepare the certificate profile", e);
        }
        this.signingKey = EcdsaP256.signingKey(ca.issuingKey());
    }

    /** The CA this issuer signs with. */
    public MeshCa ca() {
        return ca;
    }

    /**
     * Issues a leaf for {@code csr}'s key naming {@code id} and carrying {@code claims}.
     *
     * @throws IllegalArgumentException when {@code id} is in another trust domain or {@code ttl} is not positive
     * @throws IllegalStateException when the issuing intermediate has expired (rotate it)
     */
    public IssuedCertificate issue(ValidatedCsr csr, SpiffeId id, AttestationClaims claims, Duration ttl) {
        if (!id.trustDomain().equals(ca.trustDomain())) {
            throw new IllegalArgumentException("SPIFFE ID " + id.uri() + " is not in this CA's trust domain '"
                    + ca.trustDomain() + "'");
        }
        if (ttl.isZero() || ttl.isNegative()) {
            throw new IllegalArgumentException("certificate TTL must be positive, got " + ttl);
        }
        Instant now = clock.instant();
        Instant interEnd = ca.issuingIntermediate().getNotAfter().toInstant();
        if (!interEnd.isAfter(now)) {
            throw new IllegalStateException("the issuing intermediate expired at " + interEnd + "; rotate the CA intermediate");
        }
        Instant notBefore = now.minus(BACKDATE);
        Instant notAfter = now.plus(ttl);
        if (notAfter.isAfter(interEnd)) {
            notAfter = interEnd;
        }
        BigInteger serial;
        do {
            serial = new BigInteger(128, RANDOM);
        } while (serial.signum() == 0);

        SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(csr.subjectPublicKeyInfoDer());
        ASN1Encodable[] sans = new ASN1Encodable[1 + claims.policies().size()];
        sans[0] = new GeneralName(GeneralName.uniformResourceIdentifier, id.uri());
        for (int i = 0; i < claims.policies().size(); i++) {
            sans[i + 1] = new GeneralName(GeneralName.otherName,
                    new OtherName(POLICY_SAN_OID, new DERUTF8String(claims.policies().get(i).id())));
        }
        try {
            X509v3CertificateBuilder b = new X509v3CertificateBuilder(issuerName, serial, Asn1Times.x509(notBefore),
                    Asn1Times.x509(notAfter), subjectName, spki);
            b.addExtension(basicConstraints);
            b.addExtension(keyUsage);
            b.addExtension(extendedKeyUsage);
            b.addExtension(Extension.subjectAlternativeName, false,
                    GeneralNames.getInstance(new DERSequence(sans)));
            b.addExtension(Extension.subjectKeyIdentifier, false, subjectKeyId(spki));
            b.addExtension(authorityKeyId);
            b.addExtension(new Extension(CLAIMS_OID, false, AttestationClaimsCodec.encode(claims)));
            X509CertificateHolder holder = b.build(EcdsaContentSigner.prepared(signingKey, ca.issuingKey()));
            byte[] der = holder.getEncoded();
            byte[] sha = SHA256.get().digest(der);
            // The JDK parses the leaf only if someone asks for it (admission uses the DER).
            return IssuedCertificate.ofDer(der, List.of(ca.issuingIntermediate()), serial, notBefore, notAfter, sha);
        } catch (IOException e) {
            throw new IllegalStateException("certificate issuance failed for " + id.uri(), e);
        }
    }

    /** RFC 7093 method 1: leftmost 160 bits of SHA-256 of the subjectPublicKey bits. */
    private static SubjectKeyIdentifier subjectKeyId(SubjectPublicKeyInfo spki) {
        byte[] h = SHA256.get().digest(spki.getPublicKeyData().getBytes());
        return new SubjectKeyIdentifier(java.util.Arrays.copyOf(h, 20));
    }
}
