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

    @Test
    void readsExactlyOneCertificateWithOnlyWhitespaceAroundIt() throws Exception {
        String pem = Pem.certificates(List.of(ca.root()));
        assertEquals(ca.root(), Pem.parseCertificate("  \n" + pem + "\n\t"));
        assertEquals(ca.root(), Pem.parseCertificate(pem.replace("\n", "\r\n")));
        String body = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        org.junit.jupiter.api.Assertions.assertArrayEquals(new byte[3], Pem.singleCertificateDer("  " + body));
        CertificateException after = assertThrows(CertificateException.class, () -> Pem.parseCertificate(pem + "junk"));
        assertTrue(after.getMessage().contains("text after"), after.getMessage());
        CertificateException two = assertThrows(CertificateException.class, () -> Pem.parseCertificate(pem + pem));
        assertTrue(two.getMessage().contains("text after"), two.getMessage());
        assertThrows(CertificateException.class, () -> Pem.parseCertificate("x" + pem));
        assertThrows(CertificateException.class, () -> Pem.parseCertificate(body));
    }

    @Test
    void refusesACertificateWithBytesAppendedToItsDer() throws Exception {
        byte[] der = java.util.Arrays.copyOf(ca.root().getEncoded(), ca.root().getEncoded().length + 3);
        String pem = "-----BEGIN CERTIFICATE-----\n" + java.util.Base64.getMimeEncoder(64, new byte[] {'\n'})
                .encodeToString(der) + "\n-----END CERTIFICATE-----\n";
        CertificateException e = assertThrows(CertificateException.class, () -> Pem.parseCertificate(pem));
        assertTrue(e.getMessage().contains("bytes after its DER encoding"), e.getMessage());
    }
}
