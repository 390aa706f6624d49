package dev.attestmesh.server.admin;

import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.server.ControlPlane;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.serde.annotation.Serdeable;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * {@code /api/v1/trust-bundle}: what peers of the mesh trust (root, issuing intermediate, and
 * intermediates still in their rotation overlap). JSON by default; PEM with {@code ?format=pem} or
 * {@code Accept: application/x-pem-file}.
 */
@Controller("/api/v1/trust-bundle")
public class TrustBundleController {
    static final String PEM = "application/x-pem-file";
    private final ControlPlane cp;

    TrustBundleController(ControlPlane cp) {
        this.cp = cp;
    }

    /**
     * One certificate of the bundle.
     *
     * @param role {@code root}, {@code issuing-intermediate} or {@code retired-intermediate}
     */
    @Serdeable
    public record BundleCertificate(String role, String subject, String serial, String notBefore, String notAfter,
            String sha256, String pem) {}

    /** The bundle as JSON; {@code pem} is the whole bundle as one PEM text. */
    @Serdeable
    public record TrustBundle(String trustDomain, List<BundleCertificate> certificates, String pem) {}

    @Get(produces = {MediaType.APPLICATION_JSON, PEM})
    @ApiAnswer(status = 200, body = TrustBundle.class, description = "JSON: the bundle with each certificate described")
    @ApiAnswer(status = 200, body = String.class, description = "format=pem or Accept: application/x-pem-file: the PEM bundle")
    public HttpResponse<?> get(@Nullable @QueryValue String format, HttpRequest<?> request) {
        List<X509Certificate> bundle = cp.trustBundle();
        boolean pem = "pem".equalsIgnoreCase(format) || (format == null
                && request.getHeaders().get(HttpHeaders.ACCEPT, String.class).orElse("").contains(PEM));
        if (pem) {
            return HttpResponse.ok(Pem.certificates(bundle)).contentType(PEM);
        }
        MeshCa ca = cp.meshCa();
        List<BundleCertificate> out = new ArrayList<>();
        for (X509Certificate c : bundle) {
            String role = c.equals(ca.root()) ? "root" : c.equals(ca.issuingIntermediate()) ? "issuing-intermediate"
                    : "retired-intermediate";
            out.add(new BundleCertificate(role, c.getSubjectX500Principal().getName(), c.getSerialNumber().toString(16),
                    c.getNotBefore().toInstant().toString(), c.getNotAfter().toInstant().toString(), sha256(c),
                    Pem.certificates(List.of(c))));
        }
        return HttpResponse.ok(new TrustBundle(ca.trustDomain(), out, Pem.certificates(bundle)))
                .contentType(MediaType.APPLICATION_JSON_TYPE);
    }

    static String sha256(X509Certificate c) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException("cannot fingerprint a CA certificate: " + e.getMessage(), e);
        }
    }
}
