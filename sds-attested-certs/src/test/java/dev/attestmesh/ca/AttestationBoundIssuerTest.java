package dev.attestmesh.ca;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.policy.PolicyRef;
import dev.attestmesh.quote.TeeType;
import java.io.ByteArrayInputStream;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1UTF8String;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.OtherName;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.junit.jupiter.api.Test;

class AttestationBoundIssuerTest {
    private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");

    static AttestationClaims claims(String nodeId, List<PolicyRef> policies) {
        return new AttestationClaims(1, nodeId, TeeType.TDX, Map.of("mrtd", "ab".repeat(48), "rtmr0", "cd".repeat(48)),
                "UpToDate", List.of("INTEL-SA-00615"), policies, new byte[32], NOW, false, false);
    }

    @Test
    void issuesLeafWhoseEveryProfileFieldIsReadableByJdkAndBouncyCastle() throws Exception {
        TestKeys.MutableClock clock = new TestKeys.MutableClock(NOW);
        MeshCa ca = MeshCa.generate("mesh.example", clock);
        AttestationBoundIssuer issuer = new AttestationBoundIssuer(ca, clock);
        KeyPair node = TestKeys.ec("secp256r1");
        ValidatedCsr csr = CsrValidator.validate(TestKeys.p256Csr(node));
        AttestationClaims claims = claims("node-1", List.of(new PolicyRef("default", 3), new PolicyRef("production", 1)));

        IssuedCertificate issued = issuer.issue(csr, SpiffeId.forNode("mesh.example", "node-1"), claims, Duration.ofHours(1));

        // JDK view
        X509Certificate jdk = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(issued.leaf().getEncoded()));
        assertEquals(node.getPublic(), jdk.getPublicKey());
        assertEquals(-1, jdk.getBasicConstraints());
        boolean[] ku = jdk.getKeyUsage();
        assertTrue(ku[0], "digitalSignature");
        assertTrue(ku[4], "keyAgreement");
        assertFalse(ku[5], "keyCertSign must not be set");
        assertEquals(List.of("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"), jdk.getExtendedKeyUsage());
        List<String> uris = new ArrayList<>();
        int otherNames = 0;
        for (List<?> san : jdk.getSubjectAlternativeNames()) {
            if ((Integer) san.get(0) == 6) {
                uris.add((String) san.get(1));
            } else if ((Integer) san.get(0) == 0) {
                otherNames++;
            }
        }
        assertEquals(List.of("spiffe://mesh.example/node/node-1"), uris);
        assertEquals(2, otherNames);
        assertTrue(jdk.getNonCriticalExtensionOIDs().contains(AttestMeshOids.CLAIMS_EXTENSION));
        assertFalse(jdk.getCriticalExtensionOIDs().contains(AttestMeshOids.CLAIMS_EXTENSION));
        assertEquals(claims, AttestationClaimsCodec.fromCertificate(jdk).orElseThrow());
        assertEquals(NOW.minusSeconds(30), jdk.getNotBefore().toInstant());
        assertEquals(NOW.plus(Duration.ofHours(1)), jdk.getNotAfter().toInstant());
        assertEquals(issued.serial(), jdk.getSerialNumber());
        assertTrue(issued.serial().signum() > 0 && issued.serial().bitLength() <= 128);
        assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(jdk.getEncoded()), issued.sha256());
        assertEquals(List.of(issued.leaf(), ca.issuingIntermediate()), issued.chain());

        // BouncyCastle view
        X509CertificateHolder bc = new X509CertificateHolder(issued.leaf().getEncoded());
        assertTrue(bc.isSignatureValid(new JcaContentVerifierProviderBuilder().build(ca.issuingIntermediate())));
        assertFalse(BasicConstraints.fromExtensions(bc.getExtensions()).isCA());
        assertTrue(bc.getExtension(Extension.keyUsage).isCritical());
        assertEquals(new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement), KeyUsage.fromExtensions(bc.getExtensions()));
        ExtendedKeyUsage eku = ExtendedKeyUsage.fromExtensions(bc.getExtensions());
        assertTrue(eku.hasKeyPurposeId(KeyPurposeId.id_kp_serverAuth) && eku.hasKeyPurposeId(KeyPurposeId.id_kp_clientAuth));
        GeneralName[] names = GeneralNames.fromExtensions(bc.getExtensions(), Extension.subjectAlternativeName).getNames();
        assertEquals(3, names.length);
        assertEquals(1, java.util.Arrays.stream(names).filter(n -> n.getTagNo() == GeneralName.uniformResourceIdentifier).count());
        List<String> policyNames = new ArrayList<>();
        for (GeneralName n : names) {
            if (n.getTagNo() == GeneralName.otherName) {
                OtherName on = OtherName.getInstance(n.getName());
                assertEquals(new ASN1ObjectIdentifier(AttestMeshOids.POLICY_SAN), on.getTypeID());
                policyNames.add(ASN1UTF8String.getInstance(on.getValue()).getString());
            }
        }
        assertEquals(List.of("default", "production"), policyNames);
        Extension claimsExt = bc.getExtension(new ASN1ObjectIdentifier(AttestMeshOids.CLAIMS_EXTENSION));
        assertFalse(claimsExt.isCritical());
        assertEquals(claims, AttestationClaimsCodec.decode(claimsExt.getExtnValue().getOctets()));
        assertTrue(bc.getExtension(Extension.subjectKeyIdentifier) != null);
        assertTrue(bc.getExtension(Extension.authorityKeyIdentifier) != null);

        // chain verifies to the root with PKIX at the clock's time
        var cp = CertificateFactory.getInstance("X.509").generateCertPath(List.of(jdk, ca.issuingIntermediate()));
        PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(ca.root(), null)));
        params.setRevocationEnabled(false);
        params.setDate(Date.from(NOW));
        CertPathValidator.getInstance("PKIX").validate(cp, params);
    }

    @Test
    void encodingsWithoutParsingMatchTheParsedChain() throws Exception {
        TestKeys.MutableClock clock = new TestKeys.MutableClock(NOW);
        MeshCa ca = MeshCa.generate("mesh.example", clock);
        AttestationBoundIssuer issuer = new AttestationBoundIssuer(ca, clock);
        ValidatedCsr csr = CsrValidator.validate(TestKeys.p256Csr(TestKeys.ec("secp256r1")));
        IssuedCertificate issued = issuer.issue(csr, SpiffeId.forNode("mesh.example", "n"), claims("n", List.of()),
                Duration.ofHours(1));

        // The registry stores chainPem() and the answer carries leafDer() + issuers(), neither parsing the leaf.
        assertEquals(Pem.certificates(issued.chain()), issued.chainPem());
        assertArrayEquals(issued.leaf().getEncoded(), issued.leafDer());
        assertEquals(List.of(ca.issuingIntermediate()), issued.issuers());
        assertEquals(Pem.parseCertificates(issued.chainPem()), issued.chain());
        assertArrayEquals(java.security.MessageDigest.getInstance("SHA-256").digest(issued.leafDer()), issued.sha256());
        assertEquals(issued.serial(), issued.leaf().getSerialNumber());
        // The Time values written without a date format keep the instants to the second.
        assertEquals(NOW.minus(AttestationBoundIssuer.BACKDATE).truncatedTo(java.time.temporal.ChronoUnit.SECONDS),
                issued.leaf().getNotBefore().toInstant());
    }

    @Test
    void capsLeafExpiryAtTheIntermediateExpiry() throws Exception {
        TestKeys.MutableClock clock = new TestKeys.MutableClock(NOW);
        MeshCa ca = MeshCa.generate("mesh.example", clock);
        clock.advance(Duration.ofDays(364));
        AttestationBoundIssuer issuer = new AttestationBoundIssuer(ca, clock);
        ValidatedCsr csr = CsrValidator.validate(TestKeys.p256Csr(TestKeys.ec("secp256r1")));
        IssuedCertificate issued = issuer.issue(csr, SpiffeId.forNode("mesh.example", "n"), claims("n", List.of()),
                Duration.ofDays(30));
        assertEquals(ca.issuingIntermediate().getNotAfter().toInstant(), issued.notAfter());
        assertEquals(issued.notAfter(), issued.leaf().getNotAfter().toInstant());
    }

    @Test
    void refusesIssuanceAfterTheIntermediateExpired() throws Exception {
        TestKeys.MutableClock clock = new TestKeys.MutableClock(NOW);
        MeshCa ca = MeshCa.generate("mesh.example", clock);
        clock.advance(Duration.ofDays(366));
        AttestationBoundIssuer issuer = new AttestationBoundIssuer(ca, clock);
        ValidatedCsr csr = CsrValidator.validate(TestKeys.p256Csr(TestKeys.ec("secp256r1")));
        var e = assertThrows(IllegalStateException.class, () -> issuer.issue(csr,
                SpiffeId.forNode("mesh.example", "n"), claims("n", List.of()), Duration.ofHours(1)));
        assertTrue(e.getMessage().contains("rotate"));
    }

    @Test
    void refusesSpiffeIdFromAnotherTrustDomain() throws Exception {
        TestKeys.MutableClock clock = new TestKeys.MutableClock(NOW);
        AttestationBoundIssuer issuer = new AttestationBoundIssuer(MeshCa.generate("mesh.example", clock), clock);
        ValidatedCsr csr = CsrValidator.validate(TestKeys.p256Csr(TestKeys.ec("secp256r1")));
        assertThrows(IllegalArgumentException.class, () -> issuer.issue(csr, SpiffeId.forNode("other.example", "n"),
                claims("n", List.of()), Duration.ofHours(1)));
    }

    @Test
    void issuesWorkloadIdentityAndDistinctSerials() throws Exception {
        TestKeys.MutableClock clock = new TestKeys.MutableClock(NOW);
        AttestationBoundIssuer issuer = new AttestationBoundIssuer(MeshCa.generate("mesh.example", clock), clock);
        ValidatedCsr csr = CsrValidator.validate(TestKeys.p256Csr(TestKeys.ec("secp256r1")));
        SpiffeId id = SpiffeId.forWorkload("mesh.example", "shop", "checkout");
        IssuedCertificate a = issuer.issue(csr, id, claims("n", List.of()), Duration.ofHours(1));
        IssuedCertificate b = issuer.issue(csr, id, claims("n", List.of()), Duration.ofHours(1));
        assertFalse(a.serial().equals(b.serial()));
        assertEquals("spiffe://mesh.example/ns/shop/sa/checkout",
                a.leaf().getSubjectAlternativeNames().iterator().next().get(1));
        assertEquals(HexFormat.of().formatHex(a.sha256()), a.sha256Hex());
    }
}
