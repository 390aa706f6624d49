package dev.attestmesh.authz.peer;

import dev.attestmesh.ca.Pem;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Optional;

/**
 * Reads the peer certificate Envoy forwards in a CheckRequest ({@code attributes.source.certificate}
 * with {@code include_peer_certificate: true}): the leaf as URL-encoded PEM. Decoding is strict on both
 * layers, because the field comes from whoever opened the connection: the percent-encoding must be
 * exactly what Envoy produces, and the PEM must be a single certificate block whose DER re-encodes to
 * itself ({@link Pem#parseCertificate}, the CA's own strict reader). Nothing is verified here; see
 * {@link MeshChainVerifier} and {@link NodeCertificate}.
 */
public final class EnvoyPeerCertificate {
    private EnvoyPeerCertificate() {}

    /**
     * The leaf certificate in {@code urlEncodedPem}.
     *
     * @throws CertificateException whose message is the denial reason (starting "peer certificate is not")
     */
    public static X509Certificate decode(String urlEncodedPem) throws CertificateException {
        Optional<String> pem = percentDecode(urlEncodedPem);
        if (pem.isEmpty()) {
            throw new CertificateException("peer certificate is not URL-encoded PEM (bad escape or unencoded character)");
        }
        try {
            return Pem.parseCertificate(pem.get());
        } catch (CertificateException e) {
            throw new CertificateException("peer certificate is not valid PEM: " + UntrustedText.quote(
                    String.valueOf(e.getMessage())), e);
        }
    }

    /**
     * Strict percent-decoding of Envoy's URL-encoded PEM. Envoy's {@code PercentEncoding::urlEncode}
     * escapes every character except ASCII letters, digits and {@code * - . _}; any other character
     * appearing unescaped means the input is not what Envoy produces, so it is refused rather than
     * guessed at. Escapes of non-ASCII bytes are refused too: PEM is ASCII.
     */
    static Optional<String> percentDecode(String s) {
        byte[] out = new byte[s.length()];
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                if (i + 2 >= s.length()) {
                    return Optional.empty();
                }
                int hi = hexDigit(s.charAt(i + 1));
                int lo = hexDigit(s.charAt(i + 2));
                if (hi < 0 || lo < 0 || hi > 7) {
                    return Optional.empty();
                }
                out[n++] = (byte) (hi << 4 | lo);
                i += 2;
            } else if (!isUnreservedByEnvoy(c)) {
                return Optional.empty();
            } else {
                out[n++] = (byte) c;
            }
        }
        return Optional.of(new String(out, 0, n, StandardCharsets.US_ASCII));
    }

    /** ASCII hex digits only ({@link Character#digit} would also take other scripts' digits). */
    private static int hexDigit(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    private static boolean isUnreservedByEnvoy(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '*' || c == '-' || c == '.' || c == '_';
    }
}
