package dev.attestmesh.ca;

import java.io.ByteArrayInputStream;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * PEM text for certificates, private keys and CSRs. Parsing is strict: only {@code CERTIFICATE}
 * blocks, base64 that decodes cleanly, DER that re-encodes to the same bytes, and nothing but
 * whitespace outside the blocks. Peer certificates arrive from the network, so leniency here would
 * be attack surface.
 */
public final class Pem {
    private static final Base64.Encoder ENCODER = Base64.getMimeEncoder(64, new byte[] {'\n'});
    /** The first line of a PEM certificate block. */
    public static final String CERTIFICATE_HEADER = "-----BEGIN CERTIFICATE-----";
    private static final String BEGIN_CERT = CERTIFICATE_HEADER;
    private static final String END_CERT = "-----END CERTIFICATE-----";
    /** A peer never needs more than this; stops quadratic work on hostile input. */
    private static final int MAX_PEM_CHARS = 256 * 1024;

    private Pem() {}

    /** PEM {@code CERTIFICATE} blocks, in order. */
    public static String certificates(List<X509Certificate> certs) {
        StringBuilder sb = new StringBuilder();
        for (X509Certificate c : certs) {
            try {
                sb.append(block("CERTIFICATE", c.getEncoded()));
            } catch (CertificateEncodingException e) {
                throw new IllegalArgumentException("certificate cannot be encoded: " + e.getMessage(), e);
            }
        }
        return sb.toString();
    }

    /** One PEM {@code CERTIFICATE} block for a certificate's DER. */
    public static String certificate(byte[] der) {
        return block("CERTIFICATE", der);
    }

    /** PKCS#8 {@code PRIVATE KEY} block. The result is secret: never log it. */
    public static String privateKey(PrivateKey key) {
        byte[] der = key.getEncoded();
        if (der == null) {
            throw new IllegalArgumentException("private key is not exportable (no PKCS#8 encoding)");
        }
        try {
            return block("PRIVATE KEY", der);
        } finally {
            Arrays.fill(der, (byte) 0);
        }
    }

    /** {@code CERTIFICATE REQUEST} block for a DER PKCS#10 request. */
    public static String csr(byte[] der) {
        return block("CERTIFICATE REQUEST", der);
    }

    /**
     * Parses exactly one PEM {@code CERTIFICATE REQUEST} block (whitespace around it allowed) into DER.
     * The DER itself is not checked here: {@link CsrValidator#validate} does that.
     *
     * @throws IllegalArgumentException naming what is wrong (size, missing or extra block, bad base64)
     */
    public static byte[] parseCertificateRequest(String pem) {
        if (pem.length() > MAX_PEM_CHARS) {
            throw new IllegalArgumentException("CSR PEM is " + pem.length() + " characters; at most " + MAX_PEM_CHARS
                    + " accepted");
        }
        String begin = "-----BEGIN CERTIFICATE REQUEST-----";
        String end = "-----END CERTIFICATE REQUEST-----";
        String text = pem.strip();
        if (!text.startsWith(begin) || !text.endsWith(end) || text.indexOf(begin, 1) >= 0
                || text.indexOf(end) != text.length() - end.length()) {
            throw new IllegalArgumentException("CSR must be exactly one PEM block from '" + begin + "' to '" + end + "'");
        }
        String body = text.substring(begin.length(), text.length() - end.length()).replaceAll("\\s+", "");
        try {
            return Base64.getDecoder().decode(body);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("CSR PEM block has invalid base64: " + e.getMessage());
        }
    }

    /**
     * Parses one or more PEM certificates.
     *
     * @throws CertificateException naming what is wrong (no block, unterminated block, bad base64,
     *     bad DER, text outside blocks)
     */
    public static List<X509Certificate> parseCertificates(String pem) throws CertificateException {
        if (pem.length() > MAX_PEM_CHARS) {
            throw new CertificateException("PEM input is " + pem.length() + " characters; at most " + MAX_PEM_CHARS + " accepted");
        }
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<X509Certificate> out = new ArrayList<>();
        String[] lines = pem.split("\r?\n", -1);
        StringBuilder body = null;
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (body == null) {
                if (line.isEmpty()) {
                    continue;
                }
                if (!line.equals(BEGIN_CERT)) {
                    throw new CertificateException("line " + (i + 1) + ": expected '" + BEGIN_CERT + "', found other text");
                }
                body = new StringBuilder();
            } else if (line.equals(END_CERT)) {
                out.add(decode(cf, body.toString(), out.size()));
                body = null;
            } else if (line.startsWith("-----")) {
                throw new CertificateException("line " + (i + 1) + ": unexpected PEM boundary inside a CERTIFICATE block");
            } else {
                body.append(line);
            }
        }
        if (body != null) {
            throw new CertificateException("PEM CERTIFICATE block " + (out.size() + 1) + " has no END line");
        }
        if (out.isEmpty()) {
            throw new CertificateException("no PEM CERTIFICATE block found");
        }
        return List.copyOf(out);
    }

    /**
     * Parses text that must be exactly one PEM {@code CERTIFICATE} block: only whitespace may surround it,
     * its body is base64 in lines (whitespace between characters ignored), and its DER must re-encode to
     * the same bytes. This is the reader for a single peer certificate arriving from the network (Envoy's
     * {@code source.certificate}); it scans the text once, without regular expressions, because it runs
     * on every uncached ext_authz Check.
     *
     * @throws CertificateException naming what is wrong (size, no block, text around it, bad base64, bad DER)
     */
    public static X509Certificate parseCertificate(String pem) throws CertificateException {
        return certificate(CERTIFICATES.get(), singleCertificateDer(pem), "PEM certificate");
    }

    /**
     * The DER inside text that must be exactly one PEM {@code CERTIFICATE} block (see {@link
     * #parseCertificate}); the DER itself is not checked here.
     *
     * @throws CertificateException naming what is wrong with the PEM framing or its base64
     */
    public static byte[] singleCertificateDer(String pem) throws CertificateException {
        if (pem.length() > MAX_PEM_CHARS) {
            throw new CertificateException("PEM input is " + pem.length() + " characters; at most " + MAX_PEM_CHARS + " accepted");
        }
        int b = pem.indexOf(BEGIN_CERT);
        if (b < 0) {
            throw new CertificateException("no PEM CERTIFICATE block found");
        }
        if (!pem.substring(0, b).isBlank()) {
            throw new CertificateException("text before the PEM CERTIFICATE block");
        }
        int e = pem.indexOf(END_CERT, b + BEGIN_CERT.length());
        if (e < 0) {
            throw new CertificateException("PEM CERTIFICATE block has no END line");
        }
        if (!pem.substring(e + END_CERT.length()).isBlank()) {
            throw new CertificateException("text after the PEM CERTIFICATE block (a single certificate was expected)");
        }
        StringBuilder body = new StringBuilder(e - b);
        for (int i = b + BEGIN_CERT.length(); i < e; i++) {
            char c = pem.charAt(i);
            if (c == '-') {
                throw new CertificateException("unexpected PEM boundary inside a CERTIFICATE block");
            }
            if (c != '\n' && c != '\r' && c != ' ' && c != '\t') {
                body.append(c);
            }
        }
        try {
            return Base64.getDecoder().decode(body.toString());
        } catch (IllegalArgumentException ex) {
            throw new CertificateException("PEM certificate has invalid base64: " + ex.getMessage());
        }
    }

    private static X509Certificate decode(CertificateFactory cf, String b64, int index) throws CertificateException {
        byte[] der;
        try {
            der = Base64.getDecoder().decode(b64);
        } catch (IllegalArgumentException e) {
            throw new CertificateException("PEM certificate " + (index + 1) + " has invalid base64: " + e.getMessage());
        }
        return certificate(cf, der, "PEM certificate " + (index + 1));
    }

    /** {@code der} as a certificate, refusing DER that does not re-encode to itself (e.g. bytes appended). */
    private static X509Certificate certificate(CertificateFactory cf, byte[] der, String what) throws CertificateException {
        X509Certificate c;
        try {
            c = (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der));
        } catch (CertificateException | RuntimeException e) {
            throw new CertificateException(what + " is not a valid X.509 certificate: " + e.getMessage());
        }
        if (!Arrays.equals(c.getEncoded(), der)) {
            throw new CertificateException(what + " has trailing or non-DER bytes (bytes after its DER encoding)");
        }
        return c;
    }

    /** A factory per thread: looking one up costs a provider search, and instances are not documented thread-safe. */
    private static final ThreadLocal<CertificateFactory> CERTIFICATES = ThreadLocal.withInitial(() -> {
        try {
            return CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException("X.509 is not available in this JVM", e);
        }
    });

    private static String block(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + ENCODER.encodeToString(der) + "\n-----END " + type + "-----\n";
    }
}
