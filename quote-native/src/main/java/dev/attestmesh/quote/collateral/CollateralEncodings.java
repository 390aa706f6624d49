package dev.attestmesh.quote.collateral;

import java.io.ByteArrayInputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Decoders for the encodings Intel collateral arrives in: issuer chains as PEM or URL-encoded PEM
 * (PCS response headers), CRLs as DER, PEM or hex text, signatures as hex.
 */
public final class CollateralEncodings {
    private static final Pattern PEM_CRL = Pattern.compile(
            "-----BEGIN X509 CRL-----([A-Za-z0-9+/=\\s]*?)-----END X509 CRL-----");
    /** Bounds what a decoder accepts, so a hostile document cannot make it parse without end. */
    private static final int MAX_CERTIFICATES = 16;

    private CollateralEncodings() {}

    /**
     * Decodes a certificate chain given as PEM or URL-encoded PEM (as in the PCS {@code
     * *-Issuer-Chain} headers), in the order given.
     */
    public static List<X509Certificate> certificateChain(String pemOrUrlEncoded) throws CollateralParseException {
        String text = pemOrUrlEncoded;
        if (text.contains("%2D") || text.contains("%20") || text.contains("%0A")) {
            try {
                text = URLDecoder.decode(text, StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw new CollateralParseException("issuer chain is neither PEM nor valid URL-encoded PEM", e);
            }
        }
        List<X509Certificate> out = new ArrayList<>();
        for (byte[] der : pemCertificateBlocks(text.getBytes(StandardCharsets.ISO_8859_1))) {
            out.add(certificate(der));
        }
        if (out.isEmpty()) {
            throw new CollateralParseException("issuer chain contains no PEM certificate");
        }
        return List.copyOf(out);
    }

    /**
     * Decodes the PEM blocks of a quote's certification data, in order, to DER bytes without parsing
     * them, reading PEM the way common PEM readers do (so that this verifier and others agree on
     * what a chain contains): text before a {@code -----BEGIN <label>-----} line is skipped; a block
     * whose END line is missing ends the reading; a block whose BEGIN and END labels differ, whose
     * label is not ASCII, or whose body is not valid base64 (standard alphabet and padding,
     * whitespace aside) is an error.
     */
    public static List<byte[]> pemCertificateBlocks(byte[] data) throws CollateralParseException {
        String text = new String(data, StandardCharsets.ISO_8859_1);
        String dashes = "-----";
        List<byte[]> out = new ArrayList<>();
        int i = 0;
        while (true) {
            int begin = text.indexOf("-----BEGIN ", i);
            if (begin < 0) {
                break;
            }
            int labelStart = begin + "-----BEGIN ".length();
            int labelEnd = text.indexOf(dashes, labelStart);
            if (labelEnd < 0) {
                break;
            }
            int bodyStart = labelEnd + dashes.length();
            int end = text.indexOf("-----END ", bodyStart);
            if (end < 0) {
                break;
            }
            int endLabelStart = end + "-----END ".length();
            int endLabelEnd = text.indexOf(dashes, endLabelStart);
            if (endLabelEnd < 0) {
                break;
            }
            String label = text.substring(labelStart, labelEnd);
            if (!label.equals(text.substring(endLabelStart, endLabelEnd)) || !label.chars().allMatch(c -> c < 0x80)) {
                throw new CollateralParseException("PEM block at offset " + begin + " has mismatched or non-ASCII BEGIN/END labels");
            }
            if (out.size() == MAX_CERTIFICATES) {
                throw new CollateralParseException("certificate data has more than " + MAX_CERTIFICATES + " certificates");
            }
            StringBuilder b64 = new StringBuilder(end - bodyStart);
            for (int k = bodyStart; k < end; k++) {
                char c = text.charAt(k);
                if (!isPemWhitespace(c)) {
                    b64.append(c);
                }
            }
            try {
                out.add(Base64.getDecoder().decode(b64.toString()));
            } catch (IllegalArgumentException e) {
                throw new CollateralParseException("PEM block at offset " + begin + " has invalid base64");
            }
            i = endLabelEnd + dashes.length();
        }
        return out;
    }

    /** ASCII whitespace as PEM readers skip it: space, tab, LF, VT, FF, CR. */
    private static boolean isPemWhitespace(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
    }

    /** Parses one DER certificate. */
    public static X509Certificate certificate(byte[] der) throws CollateralParseException {
        try {
            return (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(der));
        } catch (CertificateException | RuntimeException e) {
            throw new CollateralParseException("bytes are not a DER X.509 certificate: " + e.getMessage(), e);
        }
    }

    /** Returns CRL DER bytes from DER, PEM or hex text (with or without a 0x prefix). */
    public static byte[] crl(byte[] derPemOrHex) throws CollateralParseException {
        if (derPemOrHex.length > 0 && derPemOrHex[0] == 0x30) {
            return derPemOrHex.clone();
        }
        String text = new String(derPemOrHex, StandardCharsets.US_ASCII).strip();
        Matcher m = PEM_CRL.matcher(text);
        if (m.find()) {
            return base64(m.group(1), "CRL");
        }
        return hex(text, "CRL");
    }

    /** Decodes hex text (optional 0x prefix, surrounding whitespace ignored). */
    public static byte[] hex(String text, String what) throws CollateralParseException {
        String t = text.strip();
        if (t.startsWith("0x") || t.startsWith("0X")) {
            t = t.substring(2);
        }
        try {
            return HexFormat.of().parseHex(t);
        } catch (IllegalArgumentException e) {
            throw new CollateralParseException(what + " is not DER, PEM or an even-length hex string");
        }
    }

    private static byte[] base64(String body, String what) throws CollateralParseException {
        try {
            return Base64.getMimeDecoder().decode(body);
        } catch (IllegalArgumentException e) {
            throw new CollateralParseException("PEM " + what + " has invalid base64", e);
        }
    }
}
