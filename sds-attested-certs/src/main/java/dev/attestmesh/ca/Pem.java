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

    private static X509Certificate decode(CertificateFactory cf, String b64, int index) throws CertificateException {
        byte[] der;
        try {
            der = Base64.getDecoder().decode(b64);
        } catch (IllegalArgumentException e) {
            throw new CertificateException("PEM certificate " + (index + 1) + " has invalid base64: " + e.getMessage());
        }
        X509Certificate c;
        try {
            c = (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der));
        } catch (CertificateException | RuntimeException e) {
            throw new CertificateException("PEM certificate " + (index + 1) + " is not a valid X.509 certificate: " + e.getMessage());
        }
        if (!Arrays.equals(c.getEncoded(), der)) {
            throw new CertificateException("PEM certificate " + (index + 1) + " has trailing or non-DER bytes");
        }
        return c;
    }

    private static String block(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + ENCODER.encodeToString(der) + "\n-----END " + type + "-----\n";
    }
}
