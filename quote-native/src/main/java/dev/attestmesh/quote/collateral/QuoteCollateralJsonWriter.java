package dev.attestmesh.quote.collateral;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

/**
 * Writes a {@link QuoteCollateral} as dcap-qvl's {@code QuoteCollateralV3} JSON, the shape {@link
 * CollateralJsonParser#quoteCollateralV3(byte[])} reads and that can travel with a {@code
 * VerificationRequest} or an offline evidence bundle. Signed bodies are written as JSON strings of
 * their exact bytes, so the signatures still verify after a round trip.
 */
public final class QuoteCollateralJsonWriter {
    private static final JsonFactory JSON = new JsonFactory();
    private static final HexFormat HEX = HexFormat.of();

    private QuoteCollateralJsonWriter() {}

    public static byte[] toQuoteCollateralV3(QuoteCollateral c) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("pck_crl_issuer_chain", pem(c.pckCrl().issuerChain()));
            g.writeStringField("root_ca_crl", HEX.formatHex(c.rootCaCrl().der()));
            g.writeStringField("pck_crl", HEX.formatHex(c.pckCrl().der()));
            g.writeStringField("tcb_info_issuer_chain", pem(c.tcbInfo().issuerChain()));
            g.writeStringField("tcb_info", new String(c.tcbInfo().body(), StandardCharsets.UTF_8));
            g.writeStringField("tcb_info_signature", HEX.formatHex(c.tcbInfo().signature()));
            g.writeStringField("qe_identity_issuer_chain", pem(c.qeIdentity().issuerChain()));
            g.writeStringField("qe_identity", new String(c.qeIdentity().body(), StandardCharsets.UTF_8));
            g.writeStringField("qe_identity_signature", HEX.formatHex(c.qeIdentity().signature()));
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("writing to memory cannot fail", e);
        }
        return out.toByteArray();
    }

    /** PEM text of a chain, in order; empty for an empty chain. */
    public static String pem(List<X509Certificate> chain) {
        StringBuilder sb = new StringBuilder();
        Base64.Encoder b64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII));
        for (X509Certificate c : chain) {
            try {
                sb.append("-----BEGIN CERTIFICATE-----\n").append(b64.encodeToString(c.getEncoded()))
                        .append("\n-----END CERTIFICATE-----\n");
            } catch (CertificateEncodingException e) {
                throw new IllegalArgumentException("certificate cannot be encoded", e);
            }
        }
        return sb.toString();
    }
}
