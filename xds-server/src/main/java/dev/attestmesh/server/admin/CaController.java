package dev.attestmesh.server.admin;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.attestmesh.ca.MeshCa;
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
import java.time.Duration;
import java.time.format.DateTimeParseException;

/** {@code /api/v1/ca}: mesh CA operations (admin role). */
@Controller("/api/v1/ca")
@ExecuteOn(TaskExecutors.BLOCKING)
public class CaController {
    static final Duration DEFAULT_OVERLAP = Duration.ofHours(24);
    private final ControlPlane cp;

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

    @Post(uri = "/rotate-intermediate", consumes = MediaType.APPLICATION_JSON, produces = MediaType.APPLICATION_JSON)
    @RequiresRole(AdminRole.ADMIN)
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
            return HttpResponse.serverError(ApiError.of("rotation failed while writing the CA bundle file: "
                    + e.getMessage() + "; the new CA is stored, retry to rewrite the file"));
        }
        return HttpResponse.ok(new Rotated(rotated.issuingIntermediate().getSubjectX500Principal().getName(),
                rotated.issuingIntermediate().getSerialNumber().toString(16),
                TrustBundleController.sha256(rotated.issuingIntermediate()),
                java.time.Instant.now().plus(overlap).toString(), rotated.trustBundle().size()));
    }
}
