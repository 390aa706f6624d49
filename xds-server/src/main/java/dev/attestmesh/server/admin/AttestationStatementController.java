package dev.attestmesh.server.admin;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.attestmesh.quote.device.EvidenceCollectionException;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Post;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import java.util.Base64;
import java.util.HexFormat;

/**
 * {@code POST /api/v1/attestation}: the control plane's own attestation statement over its root
 * certificate and a caller nonce (see {@link ControlPlaneAttestation}); 503 when it does not run in a TEE.
 */
@Controller("/api/v1/attestation")
@ExecuteOn(TaskExecutors.BLOCKING)
public class AttestationStatementController {
    private final ControlPlaneAttestation attestation;

    AttestationStatementController(ControlPlaneAttestation attestation) {
        this.attestation = attestation;
    }

    /** @param nonce 32 random bytes as 64 hex digits */
    @Serdeable
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record StatementRequest(String nonce) {}

    /**
     * The statement.
     *
     * @param evidence base64 of the TEE evidence (quote or report), verifiable with {@code attestmesh verify}
     * @param reportData hex of SHA-512("attestmesh-cp-v1" || rootCertificateSha256 || nonce)
     */
    @Serdeable
    public record Statement(String tee, String evidence, String reportData, String rootCertificateSha256,
            String nonce) {}

    @Post(consumes = MediaType.APPLICATION_JSON, produces = MediaType.APPLICATION_JSON)
    @RequiresRole(AdminRole.VIEWER)
    @ApiAnswer(status = 200, body = Statement.class, description = "the control plane's attestation statement")
    @ApiAnswer(status = 400, description = "bad nonce")
    @ApiAnswer(status = 503, description = "no TEE to attest with")
    public HttpResponse<?> attest(@Body StatementRequest body) {
        byte[] nonce;
        try {
            nonce = HexFormat.of().parseHex(body.nonce());
        } catch (IllegalArgumentException e) {
            return HttpResponse.badRequest(ApiError.of("nonce must be 64 hex digits (32 random bytes)"));
        }
        try {
            ControlPlaneAttestation.Statement s = attestation.attest(nonce);
            HexFormat hex = HexFormat.of();
            return HttpResponse.ok(new Statement(s.tee().wireName(), Base64.getEncoder().encodeToString(s.evidence()),
                    hex.formatHex(s.reportData()), hex.formatHex(s.rootSha256()), hex.formatHex(nonce)));
        } catch (IllegalArgumentException e) {
            return HttpResponse.badRequest(ApiError.of(e.getMessage()));
        } catch (EvidenceCollectionException e) {
            return HttpResponse.status(HttpStatus.SERVICE_UNAVAILABLE).body(ApiError.of(
                    "control plane is not running in a TEE, so it cannot attest itself: " + e.getMessage()));
        }
    }
}
