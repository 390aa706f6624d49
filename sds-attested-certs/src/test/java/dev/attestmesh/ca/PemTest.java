package dev.attestmesh.ca;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.cert.CertificateException;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class PemTest {
    private final MeshCa ca = MeshCa.generate("mesh.example", new TestKeys.MutableClock(Instant.parse("2026-03-01T00:00:00Z")));

    @Test
    void roundTripsCertificateChains() throws Exception {
        String pem = Pem.certificates(ca.trustBundle());
        assertTrue(pem.startsWith("-----BEGIN CERTIFICATE-----\n"));
        assertEquals(ca.trustBundle(), Pem.parseCertificates(pem));
        assertEquals(ca.trustBundle(), Pem.parseCertificates(pem.replace("\n", "\r\n")));
    }

    @Test
    void rejectsTextOutsideBlocksBadBase64AndUnterminatedBlocks() {
        String pem = Pem.certificates(List.of(ca.root()));
        assertThrows(CertificateException.class, () -> Pem.parseCertificates("junk\n" + pem));
        assertThrows(CertificateException.class, () -> Pem.parseCertificates(pem.replace("-----END CERTIFICATE-----\n", "")));
        assertThrows(CertificateException.class, () -> Pem.parseCertificates(pem.replaceFirst("\n[A-Za-z0-9+/]", "\n*")));
        assertThrows(CertificateException.class, () -> Pem.parseCertificates(""));
        assertThrows(CertificateException.class,
                () -> Pem.parseCertificates("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
    }

    @Test
    void writesKeyAndCsrBlocks() throws Exception {
        var kp = TestKeys.ec("secp256r1");
        assertTrue(Pem.privateKey(kp.getPrivate()).startsWith("-----BEGIN PRIVATE KEY-----\n"));
        assertTrue(Pem.csr(TestKeys.p256Csr(kp)).startsWith("-----BEGIN CERTIFICATE REQUEST-----\n"));
    }
}
