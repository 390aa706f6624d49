package dev.attestmesh.ca;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import dev.attestmesh.identity.ReservedIdentities;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Issues the control plane's own TLS server certificate from the mesh CA. Its only URI SAN is the
 * reserved {@code spiffe://<td>/attestmesh/control-plane} ({@link ReservedIdentities#controlPlane}), which
 * every bootstrap and every Java client pins, so a node certificate from the same CA cannot stand in for
 * the control plane; the DNS names and IPs the control plane is reached by follow. Extended key usage is
 * serverAuth only, and there is no attestation claims extension, so it can never pass an ext_authz check
 * as a node nor authenticate as a client.
 */
public final class ServerCertificateIssuer {
    private static final SecureRandom RANDOM = new SecureRandom();

    private ServerCertificateIssuer() {}

    /**
     * @param trustDomain the mesh trust domain; must be the CA's
     * @param names DNS names and IP literals the control plane is reached by (at least one)
     * @return the chain, leaf first, then the issuing intermediate
     * @throws IllegalArgumentException when {@code trustDomain} is not the CA's or {@code names} is empty
     */
    public static List<X509Certificate> issue(MeshCa ca, String trustDomain, PublicKey key, List<String> names,
            Duration ttl, Clock clock) {
        if (!ca.trustDomain().equals(trustDomain)) {
            throw new IllegalArgumentException("control plane trust domain '" + trustDomain
                    + "' differs from the mesh CA's '" + ca.trustDomain() + "'; set attestmesh.trust-domain to the CA's");
        }
        if (names.isEmpty()) {
            throw new IllegalArgumentException("the control plane certificate needs at least one DNS name or IP");
        }
        List<GeneralName> sans = new ArrayList<>();
        sans.add(new GeneralName(GeneralName.uniformResourceIdentifier,
                ReservedIdentities.controlPlane(trustDomain).uri()));
        for (String n : names) {
            sans.add(isIpLiteral(n) ? new GeneralName(GeneralName.iPAddress, n) : new GeneralName(GeneralName.dNSName, n));
        }
        Instant now = clock.instant();
        Instant notAfter = now.plus(ttl);
        Instant caNotAfter = ca.issuingIntermediate().getNotAfter().toInstant();
        if (notAfter.isAfter(caNotAfter)) {
            notAfter = caNotAfter;
        }
        try {
            X509Certificate issuer = ca.issuingIntermediate();
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer,
                    new BigInteger(127, RANDOM).add(BigInteger.ONE), Date.from(now.minusSeconds(30)),
                    Date.from(notAfter), new X500Name("O=AttestMesh,CN=AttestMesh control plane"), key);
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(GeneralName[]::new)));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(key));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(issuer));
            X509Certificate leaf = new JcaX509CertificateConverter().getCertificate(
                    b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(ca.issuingKey())));
            return List.of(leaf, issuer);
        } catch (GeneralSecurityException | OperatorCreationException | CertIOException e) {
            throw new IllegalStateException("cannot issue the control plane certificate", e);
        }
    }

    private static boolean isIpLiteral(String s) {
        if (!s.matches("[0-9.]+|[0-9a-fA-F:]+") || !s.matches(".*[.:].*")) {
            return false;
        }
        try {
            InetAddress.getByName(s); // literal: no DNS lookup happens for numeric forms
            return true;
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
