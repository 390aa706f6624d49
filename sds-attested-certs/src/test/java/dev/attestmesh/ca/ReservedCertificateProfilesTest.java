package dev.attestmesh.ca;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.identity.ReservedClientCertificates;
import dev.attestmesh.policy.PolicyRef;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The certificates that are not node leaves: the control plane's serving certificate and the operator-issued
 * admin and replica client certificates, and the check that tells them apart from node leaves.
 */
class ReservedCertificateProfilesTest {
    static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
    static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

    final TestKeys.MutableClock clock = new TestKeys.MutableClock(NOW);
    final MeshCa ca = MeshCa.generate("mesh.example", clock);

    @Test
    void controlPlaneCertificateNamesOnlyTheReservedIdentityPlusItsHostNamesServerAuthOnlyNoClaims() throws Exception {
        KeyPair kp = TestKeys.ec("secp256r1");
        X509Certificate leaf = ServerCertificateIssuer.issue(ca, "mesh.example", kp.getPublic(),
                List.of("cp.mesh.example", "10.0.0.1"), Duration.ofDays(1), clock).getFirst();
        assertEquals(List.of("spiffe://mesh.example/attestmesh/control-plane"), ReservedClientCertificates.uriSans(leaf));
        assertEquals(3, leaf.getSubjectAlternativeNames().size(), "URI, DNS, IP");
        assertEquals(List.of(SERVER_AUTH), leaf.getExtendedKeyUsage());
        assertNull(leaf.getExtensionValue(AttestMeshOids.CLAIMS_EXTENSION));
        assertThrows(IllegalArgumentException.class, () -> ServerCertificateIssuer.issue(ca, "other.example",
                kp.getPublic(), List.of("cp"), Duration.ofDays(1), clock));
    }

    @Test
    void adminAndReplicaCertificatesAreClientAuthOnlyWithoutClaimsAndNameTheirReservedIdentity() throws Exception {
        for (var kind : ReservedClientCertificateIssuer.Kind.values()) {
            IssuedCertificate c = issue(kind, "ops-1", ReservedClientCertificateIssuer.DEFAULT_TTL);
            String expected = "spiffe://mesh.example/attestmesh/" + kind.name().toLowerCase() + "/ops-1";
            assertEquals(List.of(expected), ReservedClientCertificates.uriSans(c.leaf()));
            assertEquals(List.of(CLIENT_AUTH), c.leaf().getExtendedKeyUsage());
            assertNull(c.leaf().getExtensionValue(AttestMeshOids.CLAIMS_EXTENSION));
            assertEquals(NOW.plus(Duration.ofDays(30)), c.notAfter());
            var verdict = assertInstanceOf(ReservedClientCertificates.Accepted.class,
                    ReservedClientCertificates.verify(c.leaf(), ca.trustBundle(), clock.instant()));
            assertEquals(expected, verdict.id().uri());
        }
    }

    @Test
    void refusesTtlBeyondNinetyDaysAndNamesThatAreNotDnsLabels() throws Exception {
        assertThrows(IllegalArgumentException.class,
                () -> issue(ReservedClientCertificateIssuer.Kind.ADMIN, "a", Duration.ofDays(91)));
        assertThrows(IllegalArgumentException.class,
                () -> issue(ReservedClientCertificateIssuer.Kind.ADMIN, "a", Duration.ZERO));
        assertThrows(IllegalArgumentException.class,
                () -> issue(ReservedClientCertificateIssuer.Kind.REPLICA, "Bad/Name", Duration.ofDays(1)));
    }

    @Test
    void aNodeLeafIsRefusedEvenWhenItNamesAReservedIdentity() throws Exception {
        // Registrations can never grant /attestmesh/..., but if one did, the claims extension still gives it away.
        KeyPair kp = TestKeys.ec("secp256r1");
        IssuedCertificate node = new AttestationBoundIssuer(ca, clock).issue(CsrValidator.validate(TestKeys.p256Csr(kp)),
                new SpiffeId("mesh.example", "/attestmesh/admin/ops-1"),
                AttestationBoundIssuerTest.claims("n", List.of(new PolicyRef("default", 1))), Duration.ofHours(1));
        var refused = assertInstanceOf(ReservedClientCertificates.Refused.class,
                ReservedClientCertificates.verify(node.leaf(), ca.trustBundle(), clock.instant()));
        assertTrue(refused.reason().contains("attestation claims extension"), refused.reason());
    }

    @Test
    void refusesExpiredOrForeignCertificatesAndOrdinaryIdentities() throws Exception {
        IssuedCertificate c = issue(ReservedClientCertificateIssuer.Kind.REPLICA, "r1", Duration.ofDays(1));
        assertInstanceOf(ReservedClientCertificates.Refused.class,
                ReservedClientCertificates.verify(c.leaf(), ca.trustBundle(), NOW.plus(Duration.ofDays(2))));
        MeshCa other = MeshCa.generate("mesh.example", clock);
        var foreign = assertInstanceOf(ReservedClientCertificates.Refused.class,
                ReservedClientCertificates.verify(c.leaf(), other.trustBundle(), clock.instant()));
        assertTrue(foreign.reason().contains("does not chain"), foreign.reason());
        X509Certificate server = ServerCertificateIssuer.issue(ca, "mesh.example", TestKeys.ec("secp256r1").getPublic(),
                List.of("cp"), Duration.ofDays(1), clock).getFirst();
        // the control plane's own identity is reserved too; callers compare it with what they allow
        assertInstanceOf(ReservedClientCertificates.Accepted.class,
                ReservedClientCertificates.verify(server, ca.trustBundle(), clock.instant()));
        assertFalse(ReservedClientCertificates.uriSans(server).isEmpty());
    }

    IssuedCertificate issue(ReservedClientCertificateIssuer.Kind kind, String name, Duration ttl) throws Exception {
        return ReservedClientCertificateIssuer.issue(ca, CsrValidator.validate(TestKeys.p256Csr(TestKeys.ec("secp256r1"))),
                kind, name, ttl, clock);
    }
}
