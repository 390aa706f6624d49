package dev.attestmesh.server.admin;

import dev.attestmesh.input.UntrustedText;
import dev.attestmesh.policy.Policy;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.attest.RecentRefusals;
import dev.attestmesh.server.registry.NodeEntry;
import dev.attestmesh.server.xds.XdsSyncTracker;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.serde.annotation.Serdeable;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code GET /api/v1/overview}: the web console's first page in one bounded answer, computed on the server
 * so the console never needs the whole node list: nodes by TEE and state, each policy with how many nodes
 * satisfy its current version, certificates of attested nodes expiring soon, the latest refused
 * attestations with their reasons, and the xDS sync states summed over nodes and types. Every list in it
 * holds at most {@value #MAX_ITEMS} items.
 */
@Controller("/api/v1/overview")
@ExecuteOn(TaskExecutors.BLOCKING)
public class OverviewController {
    static final int MAX_ITEMS = 20;
    static final Duration DEFAULT_WITHIN = Duration.ofMinutes(30);
    static final Duration MAX_WITHIN = Duration.ofDays(365);
    private final ControlPlane cp;

    OverviewController(ControlPlane cp) {
        this.cp = cp;
    }

    /** A policy and how many nodes satisfy its current version. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record PolicyCount(String id, long version, int nodes) {}

    /** An attested node whose certificate expires within the window. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Expiring(String nodeId, String tee, String certificateNotAfter) {}

    /** A node with a NACKed xDS type, with Envoy's error detail. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Nack(String nodeId, String typeUrl, @Nullable String detail) {}

    /** A refused attestation. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Refusal(String at, String nodeId, String tee, String status, String reason) {}

    /**
     * @param byTeeAndState TEE wire name to state name to node count
     * @param expiringBefore the window's end: attested nodes whose certificate expires before it are listed
     * @param xdsStates sync state name to the number of (node, type) pairs in it
     */
    @Serdeable
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Overview(int nodes, Map<String, Map<String, Integer>> byTeeAndState, List<PolicyCount> policies,
            String expiringBefore, int expiringCount, List<Expiring> expiringSoon, Map<String, Integer> xdsStates,
            List<Nack> nacks, List<Refusal> recentRefusals) {}

    /** The overview; {@code expiringWithin} is an ISO-8601 duration (default PT30M, at most 365 days). */
    @Get(produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = Overview.class, description = "the overview")
    @ApiAnswer(status = 400, description = "expiringWithin is not an ISO-8601 duration in (0, P365D]")
    public HttpResponse<?> overview(@Nullable @QueryValue String expiringWithin) {
        Duration within = DEFAULT_WITHIN;
        if (expiringWithin != null) {
            try {
                within = Duration.parse(expiringWithin.trim());
            } catch (DateTimeParseException e) {
                return HttpResponse.badRequest(ApiError.of("expiringWithin '" + UntrustedText.forLog(expiringWithin, 64)
                        + "' is not an ISO-8601 duration; write e.g. PT30M or P7D"));
            }
            if (within.isNegative() || within.isZero() || within.compareTo(MAX_WITHIN) > 0) {
                return HttpResponse.badRequest(ApiError.of("expiringWithin must be above zero and at most P365D"));
            }
        }
        Instant now = Instant.now();
        return HttpResponse.ok(compute(cp.registry().entries(), cp.policies().all(), now.plus(within)));
    }

    private Overview compute(Collection<NodeEntry> entries, Collection<Policy> policies, Instant before) {
        Map<String, Map<String, Integer>> byTee = new TreeMap<>();
        Map<String, Integer> satisfied = new TreeMap<>();
        List<NodeEntry> expiring = new ArrayList<>();
        Map<String, Integer> xds = new TreeMap<>();
        List<Nack> nacks = new ArrayList<>();
        for (NodeEntry e : entries) {
            byTee.computeIfAbsent(e.tee().wireName(), k -> new TreeMap<>()).merge(e.state().name(), 1, Integer::sum);
            if (e.state() == NodeState.ATTESTED) {
                e.satisfiedPolicies().forEach((id, v) -> {
                    if (cp.policies().version(id).orElse(-1) == v) {
                        satisfied.merge(id, 1, Integer::sum);
                    }
                });
                if (e.certNotAfter().isBefore(before)) {
                    expiring.add(e);
                }
            }
            for (Map.Entry<String, XdsSyncTracker.TypeStatus> s : cp.xdsSync().statuses(e.nodeId()).entrySet()) {
                xds.merge(s.getValue().state().name(), 1, Integer::sum);
                if (s.getValue().state() == XdsSyncTracker.SyncState.NACKED && nacks.size() < MAX_ITEMS) {
                    nacks.add(new Nack(e.nodeId(), s.getKey(), s.getValue().nackDetail().orElse(null)));
                }
            }
        }
        List<PolicyCount> counts = policies.stream().sorted(Comparator.comparing(Policy::id))
                .map(p -> new PolicyCount(p.id(), cp.policies().version(p.id()).orElse(0),
                        satisfied.getOrDefault(p.id(), 0))).toList();
        List<Expiring> soonest = expiring.stream().sorted(Comparator.comparing(NodeEntry::certNotAfter)).limit(MAX_ITEMS)
                .map(e -> new Expiring(e.nodeId(), e.tee().wireName(), e.certNotAfter().toString())).toList();
        List<Refusal> refusals = cp.recentRefusals().latest(MAX_ITEMS).stream().map(OverviewController::view).toList();
        return new Overview(entries.size(), byTee, counts, before.toString(), expiring.size(), soonest, xds, nacks,
                refusals);
    }

    private static Refusal view(RecentRefusals.Refusal r) {
        return new Refusal(r.at().toString(), r.nodeId(), r.tee(), r.status(), r.reason());
    }
}
