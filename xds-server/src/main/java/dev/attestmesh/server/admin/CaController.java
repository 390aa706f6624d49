package dev.attestmesh.server.admin;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.attestmesh.ca.CsrRejectedException;
import dev.attestmesh.ca.CsrValidator;
import dev.attestmesh.ca.IssuedCertificate;
import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.ca.ReservedClientCertificateIssuer;
import dev.attestmesh.ca.ValidatedCsr;
import dev.attestmesh.server.ControlPlane;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Post;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.time.format.DateTimeParseException;

/**
 * {@code /api/v1/ca}: mesh CA operations (admin role): rotating the issuing intermediate, and issuing the
 * reserved client certificates of AttestMesh's own components (admin clients, ext_authz replicas), which
 * no attestation can obtain.
 */
@Controller("/api/v1/ca")
@ExecuteOn(TaskExecutors.BLOCKING)
public class CaController {
    static final Duration DEFAULT_OVERLAP = Duration.ofHours(24);
    private static final Logger LOG = LoggerFactory.getLogger(CaController.class);
    private final ControlPlane cp;
    private final Clock clock = Clock.systemUTC();

    CaController(ControlPlane cp) {
        this.cp = cp;
    }

    /** @param overlap how long the old intermediate stays trusted, ISO-8601 (e.g. {@code PT24H}); default 24 h */
    @Serdeable
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record RotateRequest(@Nullable String overlap) {}

    /** The new issuing intermediate and the bundle size (the retired intermediate stays in it during overlap). */
    @Serdeable
    public record Rotated(String intermediateSubject, String intermediateSerial, String intermediateSha256,
            String overlapEnds, int trustBundleSize) {}

    /** Longest CSR PEM accepted: a P-256 request is about 400 characters of PEM. */
    static final int MAX_CSR_PEM_CHARS = 16 * 1024;

    /**
     * A request for a reserved client certificate.
     *
     * @param kind {@code admin} or {@code replica}
     * @param name the admin's or replica's name: a DNS label (1-63 of a-z 0-9 . -)
     * @param csr PEM PKCS#10 request signed by the requester's ECDSA P-256 key
     * @param ttl ISO-8601 lifetime, default P30D, at most P90D
     */
    @Serdeable
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record ClientCertificateRequest(@Nullable String kind, @Nullable String name, @Nullable String csr,
            @Nullable String ttl) {}

    /**
     * An issued reserved client certificate.
     *
     * @param spiffeId its only URI SAN
     * @param serial hex serial, as in the issuance log
     * @param notAfter expiry, ISO-8601
     * @param certificateChain PEM, leaf then issuing intermediate
     * @param caBundle PEM mesh trust bundle, to authenticate the control plane with
     */
    @Serdeable
    public record ClientCertificate(String spiffeId, String serial, String notAfter, String certificateChain,
            String caBundle) {}

    @Post(uri = "/client-certificates", consumes = MediaType.APPLICATION_JSON, produces = MediaType.APPLICATION_JSON)
    @RequiresRole(AdminRole.ADMIN)
    @ApiAnswer(status = 200, body = ClientCertificate.class, description = "the issued certificate")
    @ApiAnswer(status = 400, description = "the request is invalid")
    @ApiAnswer(status = 500, description = "issuance failed")
    public HttpResponse<?> issueClientCertificate(@Nullable @Body ClientCertificateRequest body) {
        if (body == null) {
            return HttpResponse.badRequest(ApiError.of("send {\"kind\": \"admin\"|\"replica\", \"name\": ..., "
                    + "\"csr\": \"<PEM>\", \"ttl\": \"P30D\"}"));
        }
        ReservedClientCertificateIssuer.Kind kind;
        if ("admin".equals(body.kind())) {
            kind = ReservedClientCertificateIssuer.Kind.ADMIN;
        } else if ("replica".equals(body.kind())) {
            kind = ReservedClientCertificateIssuer.Kind.REPLICA;
        } else {
            return HttpResponse.badRequest(ApiError.of("kind '" + NodesController.printable(String.valueOf(body.kind()))
                    + "' must be admin or replica"));
        }
        MeshCa ca = cp.meshCa();
        String spiffeId;
        try {
            spiffeId = kind.id(ca.trustDomain(), body.name()).uri();
        } catch (IllegalArgumentException e) {
            return HttpResponse.badRequest(ApiError.of("name '" + NodesController.printable(String.valueOf(body.name()))
                    + "' must be a DNS label: 1-63 characters of a-z 0-9 . -, starting and ending with a letter or digit"));
        }
        Duration ttl;
        try {
            ttl = body.ttl() == null ? ReservedClientCertificateIssuer.DEFAULT_TTL : Duration.parse(body.ttl());
        } catch (DateTimeParseException e) {
            return HttpResponse.badRequest(ApiError.of("ttl '" + NodesController.printable(body.ttl())
                    + "' is not an ISO-8601 duration such as P30D"));
        }
        if (ttl.isZero() || ttl.isNegative() || ttl.compareTo(ReservedClientCertificateIssuer.MAX_TTL) > 0) {
            return HttpResponse.badRequest(ApiError.of("ttl must be positive and at most P90D, got " + ttl));
        }
        if (body.csr() == null || body.csr().isBlank()) {
            return HttpResponse.badRequest(ApiError.of("csr is required: a PEM CERTIFICATE REQUEST for an ECDSA P-256 key"));
        }
        if (body.csr().length() > MAX_CSR_PEM_CHARS) {
            return HttpResponse.badRequest(ApiError.of("csr is " + body.csr().length() + " characters; at most "
                    + MAX_CSR_PEM_CHARS + " are accepted (a P-256 CSR is about 400)"));
        }
        ValidatedCsr csr;
        try {
            csr = CsrValidator.validate(Pem.parseCertificateRequest(body.csr()));
        } catch (IllegalArgumentException | CsrRejectedException e) {
            return HttpResponse.badRequest(ApiError.of("csr rejected: " + e.getMessage()));
        }
        IssuedCertificate issued;
        try {
            issued = ReservedClientCertificateIssuer.issue(ca, csr, kind, body.name(), ttl, clock);
        } catch (IllegalStateException e) {
            return HttpResponse.serverError(ApiError.of(e.getMessage()));
        }
        // Recorded like every other issuance; no node, no evidence, no policies: an operator asked for it.
        cp.issuanceLog().append(issued.serialHex(), "-", spiffeId, "", List.of(), clock.instant());
        LOG.info("issued {} client certificate {} (serial {}, until {})", body.kind(), spiffeId, issued.serialHex(),
                issued.notAfter());
        return HttpResponse.ok(new ClientCertificate(spiffeId, issued.serialHex(), issued.notAfter().toString(),
                Pem.certificates(issued.chain()), Pem.certificates(ca.trustBundle())));
    }

    @Post(uri = "/rotate-intermediate", consumes = MediaType.APPLICATION_JSON, produces = MediaType.APPLICATION_JSON)
    @RequiresRole(AdminRole.ADMIN)
    @ApiAnswer(status = 200, body = Rotated.class, description = "the new issuing intermediate")
    @ApiAnswer(status = 400, description = "bad overlap")
    @ApiAnswer(status = 500, description = "rotation failed, nothing rotated")
    public HttpResponse<?> rotateIntermediate(@Nullable @Body RotateRequest body) {
        Duration overlap;
        try {
            overlap = body == null || body.overlap() == null ? DEFAULT_OVERLAP : Duration.parse(body.overlap());
        } catch (DateTimeParseException e) {
            return HttpResponse.badRequest(ApiError.of("overlap '" + NodesController.printable(body.overlap())
                    + "' is not an ISO-8601 duration such as PT24H"));
        }
        if (overlap.isNegative() || overlap.compareTo(Duration.ofDays(365)) > 0) {
            return HttpResponse.badRequest(ApiError.of("overlap must be between PT0S and P365D, got " + overlap));
        }
        MeshCa rotated;
        try {
            rotated = cp.rotateIntermediate(overlap);
        } catch (IOException e) {
            // The sealing key could not be read: nothing was rotated. (A failure after the commit, such as
            // rewriting ca-bundle.pem, is logged and retried by the control plane itself.)
            return HttpResponse.serverError(ApiError.of("rotation failed, nothing was rotated: " + e.getMessage()));
        }
        return HttpResponse.ok(new Rotated(rotated.issuingIntermediate().getSubjectX500Principal().getName(),
                rotated.issuingIntermediate().getSerialNumber().toString(16),
                TrustBundleController.sha256(rotated.issuingIntermediate()),
                java.time.Instant.now().plus(overlap).toString(), rotated.trustBundle().size()));
    }
}
