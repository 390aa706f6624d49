package dev.attestmesh.server.admin;

import dev.attestmesh.ca.CheckpointKey;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.issuance.Checkpoint;
import dev.attestmesh.issuance.CheckpointNotes;
import dev.attestmesh.issuance.CheckpointRefusedException;
import dev.attestmesh.issuance.LogCheckpointer;
import dev.attestmesh.issuance.StoredCheckpoint;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

/**
 * {@code /api/v1/issuance-log/checkpoints}: signed checkpoints (tree heads) of the issuance log, which let
 * anyone holding one detect a later truncation or rewrite of the log (docs/issuance-log.md). Viewers read
 * them and the signing key's certificate; operators sign one on demand.
 */
@Controller("/api/v1/issuance-log/checkpoints")
@ExecuteOn(TaskExecutors.BLOCKING)
public class IssuanceLogCheckpointController {
    static final int MAX_LIMIT = 1000;
    private final LogCheckpointer checkpoints;

    IssuanceLogCheckpointController(LogCheckpointer checkpoints) {
        this.checkpoints = checkpoints;
    }

    /**
     * One stored checkpoint. The note is the signed artifact; the other fields repeat what it says.
     *
     * @param id position among stored checkpoints
     * @param headHash hex of the head hash (the note carries it in base64)
     * @param timestamp signing time, ISO-8601
     * @param note the C2SP signed note, exactly as signed: save it to verify the log later
     */
    @Serdeable
    public record CheckpointView(long id, String origin, long size, String headHash, String timestamp,
            String caRootSha256, String note) {}

    /**
     * A page of checkpoints.
     *
     * @param nextFrom the {@code from} of the next page; null after the last checkpoint
     */
    @Serdeable
    public record Page(List<CheckpointView> checkpoints, @Nullable Long nextFrom) {}

    /**
     * The key that signs checkpoints.
     *
     * @param keyName the name in signature lines (the log's origin)
     * @param keyId the C2SP key ID, 8 hex digits
     * @param verifierKey the key in Go {@code golang.org/x/mod/sumdb/note} verifier form
     * @param certificate PEM certificate of the key, issued by the mesh root
     * @param rootCertificate PEM mesh root, which verifiers should pin
     * @param rootSha256 SHA-256 of the root's DER, as the checkpoint's {@code ca-root-sha256} line states it
     */
    @Serdeable
    public record SigningKey(String keyName, String keyId, String verifierKey, String algorithm, String certificate,
            String rootCertificate, String rootSha256) {}

    /** Checkpoints from id {@code from} (default 1), at most {@code limit} (default 100, at most 1000). */
    @Get(produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = Page.class, description = "one page of checkpoints")
    @ApiAnswer(status = 400, description = "from or limit out of range")
    public HttpResponse<?> list(@Nullable @QueryValue Long from, @Nullable @QueryValue Integer limit) {
        long start = from == null ? 1 : from;
        int n = limit == null ? 100 : limit;
        if (start < 1 || n < 1 || n > MAX_LIMIT) {
            return HttpResponse.badRequest(ApiError.of("from must be >= 1 and limit 1.." + MAX_LIMIT + " (got from="
                    + start + ", limit=" + n + ")"));
        }
        List<StoredCheckpoint> page = checkpoints.list(start, n);
        Long next = page.size() < n ? null : page.getLast().id() + 1;
        return HttpResponse.ok(new Page(page.stream().map(IssuanceLogCheckpointController::view).toList(), next));
    }

    /** The latest checkpoint; 404 before the first one is signed. */
    @Get(uri = "/latest", produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = CheckpointView.class, description = "the latest signed checkpoint")
    @ApiAnswer(status = 404, description = "none signed yet")
    public HttpResponse<?> latest() {
        Optional<StoredCheckpoint> latest = checkpoints.latest();
        if (latest.isEmpty()) {
            return HttpResponse.notFound(ApiError.of("no issuance log checkpoint has been signed yet: wait for the "
                    + "schedule (attestmesh.log.checkpoint-interval) or POST /api/v1/issuance-log/checkpoints"));
        }
        return HttpResponse.ok(view(latest.get()));
    }

    /** The checkpoint signing key and its certificate chain to the mesh root. */
    @Get(uri = "/signing-key", produces = MediaType.APPLICATION_JSON)
    public SigningKey signingKey() {
        CheckpointKey key = checkpoints.signingKey();
        X509Certificate root = checkpoints.root();
        String name = checkpoints.origin();
        return new SigningKey(name, String.format("%08x", CheckpointNotes.keyId(name, key.publicKey())),
                CheckpointNotes.verifierKey(name, key.publicKey()), "Ed25519",
                Pem.certificates(List.of(key.certificate())), Pem.certificates(List.of(root)),
                TrustBundleController.sha256(root));
    }

    /**
     * Signs a checkpoint of the log as it is now (operator). 201 with the checkpoint; 409 when the log is
     * not consistent with the latest checkpoint (truncated or rewritten), which is then not signed.
     */
    @Post(produces = MediaType.APPLICATION_JSON)
    @RequiresRole(AdminRole.OPERATOR)
    @ApiAnswer(status = 201, body = CheckpointView.class, description = "the new checkpoint")
    @ApiAnswer(status = 409, description = "checkpoint refused")
    public HttpResponse<?> create() {
        try {
            return HttpResponse.created(view(checkpoints.checkpointNow()));
        } catch (CheckpointRefusedException e) {
            return HttpResponse.status(HttpStatus.CONFLICT).body(ApiError.of("checkpoint refused: " + e.getMessage()));
        }
    }

    static CheckpointView view(StoredCheckpoint s) {
        Checkpoint c = s.checkpoint();
        return new CheckpointView(s.id(), c.origin(), c.size(), c.headHashHex(), c.timestamp().toString(),
                c.caRootSha256Hex(), s.note());
    }
}
