package dev.attestmesh.quote.snp;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

/**
 * Decodes AMD certificates (VCEK, VLEK, ASK, ASVK, ARK) from DER or from a PEM sequence. AMD issues
 * VCEKs with serial number 0, which RFC 5280 forbids; the JDK's parser accepts them today, and when a
 * JDK refuses one this falls back to BouncyCastle's parser so real VCEKs keep working.
 */
public final class AmdCertificateDecoder {
    private static final Pattern PEM = Pattern.compile(
            "-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\\s]+?)-----END CERTIFICATE-----");
    private static final BouncyCastleProvider BC = new BouncyCastleProvider();

    private AmdCertificateDecoder() {
    }

    /**
     * Decodes every certificate in {@code bytes}: one DER certificate, or one or more PEM blocks
     * (text around the blocks is ignored), in the order given.
     *
     * @throws CertificateException when the bytes hold no certificate or a malformed one
     */
    public static List<X509Certificate> decodeAll(byte[] bytes) throws CertificateException {
        if (bytes.length > 0 && bytes[0] == 0x30) {
            return List.of(decodeDer(bytes));
        }
        Matcher m = PEM.matcher(new String(bytes, StandardCharsets.US_ASCII));
        List<X509Certificate> out = new ArrayList<>();
        while (m.find()) {
            byte[] der;
            try {
                der = Base64.getMimeDecoder().decode(m.group(1));
            } catch (IllegalArgumentException e) {
                throw new CertificateException("PEM certificate block " + (out.size() + 1) + " is not valid Base64", e);
            }
            out.add(decodeDer(der));
        }
        if (out.isEmpty()) {
            throw new CertificateException("no certificate found: expected DER or PEM (-----BEGIN CERTIFICATE-----)");
        }
        return List.copyOf(out);
    }

    /** Decodes one DER certificate, falling back to BouncyCastle for certificates the JDK refuses. */
    public static X509Certificate decodeDer(byte[] der) throws CertificateException {
        try {
            X509Certificate c = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(der));
            if (c == null) {
                throw new CertificateException("empty certificate input");
            }
            return c;
        } catch (CertificateException | RuntimeException jdkRefused) {
            try {
                return new JcaX509CertificateConverter().setProvider(BC).getCertificate(new X509CertificateHolder(der));
            } catch (Exception bcRefused) {
                CertificateException e = new CertificateException("not a valid X.509 certificate: " + jdkRefused.getMessage());
                e.addSuppressed(bcRefused);
                throw e;
            }
        }
    }

    /**
     * The first common name (CN) of {@code principal}, "" when it has none, or {@code "<unreadable
     * name>"} when the name does not decode (e.g. a UTF8String that is not UTF-8: found by fuzzing a
     * CRL issuer), so that naming a certificate in an error can never throw.
     */
    public static String commonName(X500Principal principal) {
        try {
            RDN[] rdns = X500Name.getInstance(principal.getEncoded()).getRDNs(BCStyle.CN);
            return rdns.length == 0 ? "" : IETFUtils.valueToString(rdns[0].getFirst().getValue());
        } catch (RuntimeException e) {
            return "<unreadable name>";
        }
    }
}
