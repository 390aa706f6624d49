package dev.attestmesh.authz.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.ca.Pem;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class EnvoyPeerCertificateTest {
    @Test
    void percentDecodingIsStrict() {
        assertEquals(Optional.of("a\nb c+/=-._*"), EnvoyPeerCertificate.percentDecode("a%0Ab%20c%2B%2F%3D-._*"));
        assertEquals(Optional.empty(), EnvoyPeerCertificate.percentDecode("a:b"));
        assertEquals(Optional.empty(), EnvoyPeerCertificate.percentDecode("a b"));
        assertEquals(Optional.empty(), EnvoyPeerCertificate.percentDecode("a\nb"));
        assertEquals(Optional.empty(), EnvoyPeerCertificate.percentDecode("a+b"));
        assertEquals(Optional.empty(), EnvoyPeerCertificate.percentDecode("%4"));
        assertEquals(Optional.empty(), EnvoyPeerCertificate.percentDecode("%G0"));
        assertEquals(Optional.empty(), EnvoyPeerCertificate.percentDecode("%C3%A9"));
        assertEquals(Optional.empty(), EnvoyPeerCertificate.percentDecode("é"));
    }

    @Test
    void escapesTakeAsciiHexDigitsOnly() {
        assertEquals(Optional.of("J"), EnvoyPeerCertificate.percentDecode("%4a"));
        // Arabic-Indic and fullwidth digits are digits to Character.digit, never to Envoy
        assertEquals(Optional.empty(), EnvoyPeerCertificate.percentDecode("%\u0664\u0661"));
        assertEquals(Optional.empty(), EnvoyPeerCertificate.percentDecode("%\uFF14\uFF11"));
    }

    @Test
    void decodesEnvoysEncodingOfALeafAndRefusesAnythingElse() throws Exception {
        X509Certificate root = MeshCa.generate("mesh.example", Clock.systemUTC()).trustBundle().getFirst();
        String pem = Pem.certificates(List.of(root));
        StringBuilder encoded = new StringBuilder();
        for (char c : pem.toCharArray()) {
            encoded.append(Character.isLetterOrDigit(c) || "*-._".indexOf(c) >= 0 ? String.valueOf(c)
                    : String.format("%%%02X", (int) c));
        }
        assertArrayEquals(root.getEncoded(), EnvoyPeerCertificate.decode(encoded.toString()).getEncoded());
        CertificateException notEncoded = assertThrows(CertificateException.class, () -> EnvoyPeerCertificate.decode(pem));
        assertTrue(notEncoded.getMessage().startsWith("peer certificate is not URL-encoded PEM"), notEncoded.getMessage());
        CertificateException twoBlocks = assertThrows(CertificateException.class,
                () -> EnvoyPeerCertificate.decode(encoded.toString() + encoded));
        assertTrue(twoBlocks.getMessage().startsWith("peer certificate is not valid PEM: text after"), twoBlocks.getMessage());
    }
}
