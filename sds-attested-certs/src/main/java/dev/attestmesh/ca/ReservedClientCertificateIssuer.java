package dev.attestmesh.ca;

import dev.attestmesh.identity.ReservedIdentities;
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
import dev.attestmesh.input.UntrustedText;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;

/**
 * Issues client certificates for AttestMesh's own components: admin API clients ({@code
 * spiffe://<td>/attestmesh/admin/<name>}) and standalone ext_authz replicas ({@code
 * spiffe://<td>/attestmesh/replica/<name>}). Only an operator asks for these (admin API, role admin); no
 * attestation is involved, so they carry no attestation claims extension and no policy SANs, and their
 * extended key usage is clientAuth only: they can authenticate to the control plane but can neither serve
 * as it nor pass an ext_authz check as a node.
 *
 * <p>Profile: the CSR's P-256 key; exactly one URI SAN (the reserved ID); keyUsage digitalSignature
 * (critical); basicConstraints CA=false (critical); a random positive 128-bit serial; notBefore backdated
 * 30 s; notAfter the earlier of now + TTL and the issuing intermediate's expiry.
 */
public final class ReservedClientCertificateIssuer {
    /** Longest lifetime an operator may ask for. */
    public static final Duration MAX_TTL = Duration.ofDays(90);
    /** Lifetime when the operator does not say. */
    public static final Duration DEFAULT_TTL = Duration.ofDays(30);
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Which reserved client identity a certificate names. */
    public enum Kind {
        /** {@code spiffe://<td>/attestmesh/admin/<name>}. */
        ADMIN,
        /** {@code spiffe://<td>/attestmesh/replica/<name>}. */
        REPLICA;

        /** The reserved SPIFFE ID of this kind named {@code name} in {@code trustDomain}. */
        public SpiffeId id(String trustDomain, String name) {
            return this == ADMIN ? ReservedIdentities.admin(trustDomain, name)
                    : ReservedIdentities.replica(trustDomain, name);
        }
    }

    private ReservedClientCertificateIssuer() {}

    /**
     * Issues a {@code kind} certificate named {@code name} for the key of {@code csr}.
     *
     * @throws IllegalArgumentException when the name is not a DNS label or the TTL is not in (0, {@link #MAX_TTL}]
     * @throws IllegalStateException when the issuing intermediate has expired (rotate it)
     */
    public static IssuedCertificate issue(MeshCa ca, ValidatedCsr csr, Kind kind, String name, Duration ttl,
            Clock clock) {
        Objects.requireNonNull(csr, "csr");
        SpiffeId id = kind.id(ca.trustDomain(), name);
        if (ttl.isZero() || ttl.isNegative() || ttl.compareTo(MAX_TTL) > 0) {
            throw new IllegalArgumentException("client certificate TTL " + ttl + " must be positive and at most "
                    + MAX_TTL.toDays() + " days");
        }
        Instant now = clock.instant();
        X509Certificate issuer = ca.issuingIntermediate();
        Instant interEnd = issuer.getNotAfter().toInstant();
        if (!interEnd.isAfter(now)) {
            throw new IllegalStateException("the issuing intermediate expired at " + interEnd
                    + "; rotate the CA intermediate");
        }
        Instant notBefore = now.minus(AttestationBoundIssuer.BACKDATE);
        Instant notAfter = now.plus(ttl).isAfter(interEnd) ? interEnd : now.plus(ttl);
        BigInteger serial;
        do {
            serial = new BigInteger(128, RANDOM);
        } while (serial.signum() == 0);
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "AttestMesh")
                .addRDN(BCStyle.OU, ca.trustDomain()).addRDN(BCStyle.CN, commonName(kind, name)).build();
        SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(csr.subjectPublicKeyInfoDer());
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new X509v3CertificateBuilder(
                    X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded()), serial, Asn1Times.x509(notBefore),
                    Asn1Times.x509(notAfter), subject, spki);
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
            b.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, id.uri())));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(spki));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(issuer));
            byte[] der = b.build(EcdsaContentSigner.of(ca.issuingKey())).getEncoded();
            byte[] sha = MessageDigest.getInstance("SHA-256").digest(der);
            return IssuedCertificate.ofDer(der, List.of(issuer), serial, notBefore, notAfter, sha);
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("client certificate issuance failed for " + id.uri(), e);
        }
    }

    /**
     * {@code <kind> <name>}, cut to the 64 characters a common name may have (RFC 5280): the SPIFFE ID
     * carries the identity, the common name is only for people reading the certificate.
     */
    static String commonName(Kind kind, String name) {
        return UntrustedText.fit(kind.name().toLowerCase(java.util.Locale.ROOT) + " " + name, 64);
    }
}
