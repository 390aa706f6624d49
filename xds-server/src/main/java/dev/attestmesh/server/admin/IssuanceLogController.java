package dev.attestmesh.server.admin;

import dev.attestmesh.issuance.IssuanceLogEntry;
import dev.attestmesh.issuance.LogVerification;
import dev.attestmesh.server.ControlPlane;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/** {@code /api/v1/issuance-log}: the hash-chained log of issued certificates, paged, and its verification. */
@Controller("/api/v1/issuance-log")
@ExecuteOn(TaskExecutors.BLOCKING)
public class IssuanceLogController {
    static final int MAX_LIMIT = 1000;
    private final ControlPlane cp;

    IssuanceLogController(ControlPlane cp) {
        this.cp = cp;
    }

    /**
     * One log entry.
     *
     * @param kind {@code certificate}, or {@code secret-release} (then {@code secretName} and {@code secretVersion}
     *     name what was released, never its value, and {@code serial} is the node certificate it was released under)
     */
    @Serdeable
    public record EntryView(long sequence, String kind, String serial, String nodeId, String spiffeId,
            String evidenceSha256, List<String> policyIds, String issuedAt, String previousHash, String hash,
            @Nullable String secretName, @Nullable Long secretVersion) {}

    /**
     * A page of entries.
     *
     * @param nextFrom the {@code from} of the next page; null after the last entry
     */
    @Serdeable
    public record Page(List<EntryView> entries, @Nullable Long nextFrom) {}

    /** The verification's result: {@code intact}, entries checked, and the first broken entry if any. */
    @Serdeable
    public record Verification(boolean intact, long entriesChecked, @Nullable Long firstBrokenSequence,
            @Nullable String problem) {}

    /** Entries from sequence {@code from} (default 1), at most {@code limit} (default 100, at most 1000). */
    @Get(produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = Page.class, description = "one page of entries")
    @ApiAnswer(status = 400, description = "from or limit out of range")
    public HttpResponse<?> list(@Nullable @QueryValue Long from, @Nullable @QueryValue Integer limit) {
        long start = from == null ? 1 : from;
        int n = limit == null ? 100 : limit;
        if (start < 1 || n < 1 || n > MAX_LIMIT) {
            return HttpResponse.badRequest(ApiError.of("from must be >= 1 and limit 1.." + MAX_LIMIT + " (got from="
                    + start + ", limit=" + n + ")"));
        }
        List<IssuanceLogEntry> entries = cp.issuanceLog().list(start, n);
        Long next = entries.size() < n ? null : entries.getLast().sequence() + 1;
        return HttpResponse.ok(new Page(entries.stream().map(e -> new EntryView(e.sequence(),
                e.release().isPresent() ? "secret-release" : "certificate", e.serialHex(), e.nodeId(),
                e.spiffeId(), e.evidenceSha256Hex(), e.policyIds(), e.issuedAt().toString(), e.previousHashHex(),
                e.hashHex(), e.release().map(IssuanceLogEntry.SecretRelease::secretName).orElse(null),
                e.release().map(IssuanceLogEntry.SecretRelease::version).orElse(null))).toList(), next));
    }

    /** Recomputes every hash and link from the first entry. */
    @Post(uri = "/verify", produces = MediaType.APPLICATION_JSON)
    @RequiresRole(AdminRole.VIEWER)
    public Verification verify() {
        LogVerification v = cp.issuanceLog().verify();
        return new Verification(v.intact(), v.entriesChecked(), v.firstBrokenSequence().orElse(null),
                v.problem().orElse(null));
    }
}
