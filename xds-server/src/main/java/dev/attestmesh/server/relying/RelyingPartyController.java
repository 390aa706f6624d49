package dev.attestmesh.server.relying;

import dev.attestmesh.quote.device.EvidenceCollectionException;
import dev.attestmesh.relying.MeshManifest;
import dev.attestmesh.server.admin.ApiError;
import dev.attestmesh.server.admin.ApiAnswer;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;

/**
 * The relying-party endpoints, served without credentials on the admin port (docs/relying-party.md):
 * {@code GET /.well-known/attestmesh/statement?nonce=HEX} (rate limited), {@code GET .../manifest} and
 * {@code GET .../documents/{name}?manifest=HEX}. Nothing here needs to be secret: what they serve is
 * authenticated by the TEE evidence, not by the transport. In dev mode every answer carries
 * {@value #INSECURE_HEADER}.
 */
@Controller(MeshManifest.WELL_KNOWN)
@ExecuteOn(TaskExecutors.BLOCKING)
public class RelyingPartyController {
    /** Header on every answer of a control plane in dev mode (simulated TEE). */
    public static final String INSECURE_HEADER = "X-AttestMesh-Insecure";
    /** Header carrying the SHA-256 of the manifest served. */
    public static final String MANIFEST_HEADER = "X-AttestMesh-Manifest-Sha256";
    static final String INSECURE_TEXT = "INSECURE: simulated TEE (dev mode); this statement proves nothing";

    private final StatementService statements;
    private final StatementLimiter manifestLimiter;
    private final boolean insecure;

    RelyingPartyController(StatementService statements, RelyingPartySettings settings) {
        this.statements = statements;
        this.manifestLimiter = settings.manifestLimiter();
        this.insecure = settings.devMode();
    }

    /**
     * The statement.
     *
     * @param version 2
     * @param tee sgx | tdx | snp | sim
     * @param insecure true when {@code tee} is sim: the evidence proves nothing
     * @param evidence base64 of the TEE evidence
     * @param reportData hex of SHA-512("attestmesh-cp-v2" || manifestSha256 || nonce)
     * @param manifest base64 of the exact manifest bytes the report data binds
     * @param caKeySealing what seals the CA key at rest (also in the manifest)
     * @param warning INSECURE text in dev mode; null otherwise
     */
    @Serdeable
    public record Statement(int version, String tee, boolean insecure, String evidence, String reportData, String nonce,
            String manifestSha256, String manifest, String caKeySealing, @Nullable String warning) {}

    @Get(uri = "/statement", produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = Statement.class, description = "the signed statement bound to the nonce")
    @ApiAnswer(status = 400, description = "bad nonce")
    @ApiAnswer(status = 429, description = "too many statements asked for")
    @ApiAnswer(status = 503, description = "no statement can be made now")
    public HttpResponse<?> statement(@Nullable @QueryValue String nonce, io.micronaut.http.HttpRequest<?> request) {
        try {
            StatementService.Answer a = statements.statement(StatementService.parseNonce(nonce),
                    request.getRemoteAddress().getAddress().getHostAddress());
            HexFormat hex = HexFormat.of();
            var s = a.statement();
            return mark(HttpResponse.ok(new Statement(2, s.tee().wireName(), s.insecure(),
                    Base64.getEncoder().encodeToString(s.evidence()), hex.formatHex(s.reportData()),
                    hex.formatHex(a.nonce()), a.manifest().sha256(),
                    Base64.getEncoder().encodeToString(a.manifest().manifest()), a.manifest().caKeySealing(),
                    s.insecure() ? INSECURE_TEXT : null)));
        } catch (StatementService.BadNonceException e) {
            return mark(HttpResponse.badRequest(ApiError.of(e.getMessage())));
        } catch (StatementLimiter.LimitedException e) {
            return mark(HttpResponse.status(HttpStatus.TOO_MANY_REQUESTS).body(ApiError.of(e.getMessage()))
                    .header("Retry-After", "1"));
        } catch (EvidenceCollectionException e) {
            return mark(HttpResponse.status(HttpStatus.SERVICE_UNAVAILABLE).body(ApiError.of(
                    "control plane is not running in a TEE, so it cannot attest the mesh: " + e.getMessage())));
        } catch (MeshManifestBuilder.UnstableStateException e) {
            return mark(HttpResponse.status(HttpStatus.SERVICE_UNAVAILABLE).body(ApiError.of(e.getMessage())));
        }
    }

    /** The current manifest (exact canonical bytes), its digest in {@value #MANIFEST_HEADER}. */
    @Get(uri = "/manifest", produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = byte[].class, description = "the mesh manifest, canonical JSON (docs/relying-party.md)")
    @ApiAnswer(status = 429, description = "too many requests")
    @ApiAnswer(status = 503, description = "no manifest yet")
    public HttpResponse<?> manifest() {
        try (StatementLimiter.Permit permit = manifestLimiter.acquire()) {
            ManifestSnapshot m = statements.manifests().current();
            return mark(HttpResponse.ok(m.manifest()).contentType(MediaType.APPLICATION_JSON_TYPE)
                    .header(MANIFEST_HEADER, m.sha256()));
        } catch (StatementLimiter.LimitedException e) {
            return mark(HttpResponse.status(HttpStatus.TOO_MANY_REQUESTS).body(ApiError.of(e.getMessage())));
        } catch (MeshManifestBuilder.UnstableStateException e) {
            return mark(HttpResponse.status(HttpStatus.SERVICE_UNAVAILABLE).body(ApiError.of(e.getMessage())));
        }
    }

    /** A document named by a recently served manifest, exactly as that manifest digests it. */
    @Get(uri = "/documents/{name}")
    @ApiAnswer(status = 200, body = byte[].class, description = "the document's exact bytes, in its own media type")
    @ApiAnswer(status = 400, description = "bad manifest digest")
    @ApiAnswer(status = 404, description = "no such document or manifest")
    public HttpResponse<?> document(@PathVariable String name, @Nullable @QueryValue String manifest) {
        if (!MeshManifest.DOCUMENTS.contains(name)) {
            return mark(HttpResponse.notFound(ApiError.of("no document named '"
                    + dev.attestmesh.input.UntrustedText.forLog(name, 64) + "'; documents: " + MeshManifest.DOCUMENTS)));
        }
        if (manifest == null || !manifest.matches("[0-9a-f]{64}")) {
            return mark(HttpResponse.badRequest(ApiError.of("manifest must be the 64 lower-case hex digits of the "
                    + "manifest's SHA-256")));
        }
        Optional<ManifestSnapshot> m = statements.manifests().find(manifest);
        if (m.isEmpty()) {
            return mark(HttpResponse.notFound(ApiError.of("manifest " + manifest + " is not among the "
                    + ManifestSnapshots.KEPT + " most recent ones; request a new statement")));
        }
        Optional<ManifestSnapshot.Document> d = m.get().document(name);
        if (d.isEmpty()) {
            return mark(HttpResponse.notFound(ApiError.of("manifest " + manifest + " names no " + name + " document")));
        }
        return mark(HttpResponse.ok(d.get().bytes()).contentType(MediaType.of(d.get().mediaType())));
    }

    private <T> MutableHttpResponse<T> mark(MutableHttpResponse<T> r) {
        return insecure ? r.header(INSECURE_HEADER, INSECURE_TEXT) : r;
    }
}
