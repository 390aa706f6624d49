package dev.attestmesh.server.admin;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.attestmesh.ca.AttestationClaims;
import dev.attestmesh.policy.Appraisal;
import dev.attestmesh.policy.PolicyAppraiser;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.registry.NodeEntry;
import dev.attestmesh.server.xds.XdsSyncTracker;
import io.envoyproxy.controlplane.cache.Resources;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The JSON shapes of {@code /api/v1/nodes}. Times are ISO-8601 UTC strings. */
public final class NodeViews {
    /** The xDS types whose sync state every node reports, NOT_SENT until something was sent. */
    static final List<String> XDS_TYPES = List.of(Resources.V3.LISTENER_TYPE_URL, Resources.V3.ROUTE_TYPE_URL,
            Resources.V3.CLUSTER_TYPE_URL, Resources.V3.ENDPOINT_TYPE_URL, Resources.V3.SECRET_TYPE_URL);

    private NodeViews() {}

    /**
     * A satisfied policy.
     *
     * @param version the version the node was appraised under
     * @param current whether that is still the policy's current version (else it no longer counts)
     */
    @Serdeable
    public record PolicyHeld(String id, long version, boolean current) {}

    /** xDS sync state of one type for one node, as {@code istioctl proxy-status} shows it. */
    @Serdeable
    public record XdsTypeSync(String state, String sentVersion, String ackedVersion, @Nullable String nackDetail,
            @Nullable String sentAt, @Nullable String answeredAt) {}

    /**
     * The Kubernetes workload a node proved with its service-account token at attestation.
     *
     * @param podUid the pod's UID (the node id of a Kubernetes workload)
     */
    @Serdeable
    public record KubernetesView(String namespace, String serviceAccount, String podUid) {}

    /**
     * One line of the node list.
     *
     * @param registration ID of the registration that granted {@code spiffeId}; empty for records from
     *     before registrations
     * @param kubernetes the workload the node proved with a service-account token; null when it
     *     presented none
     */
    @Serdeable
    public record NodeSummary(String nodeId, String spiffeId, String tee, String state, String stateReason,
            String measurement, List<PolicyHeld> satisfiedPolicies, String certificateSerial,
            String certificateNotAfter, String evidenceExpiresAt, String attestedAt, boolean insecure,
            Map<String, XdsTypeSync> xds, String registration, @Nullable KubernetesView kubernetes) {}

    /** The attestation claims carried in the node's certificate. */
    @Serdeable
    public record ClaimsView(String tee, Map<String, String> measurements, String tcbStatus, List<String> advisoryIds,
            List<PolicyHeld> policies, String evidenceSha256, String attestedAt, boolean insecure, boolean debug) {}

    /** One rule of one policy: pass or fail, observed against expected. */
    @Serdeable
    public record RuleReport(String rule, boolean passed, String observed, String expected) {}

    /** The appraisal against one policy version. */
    @Serdeable
    public record PolicyReport(String policyId, long version, boolean satisfied, List<RuleReport> rules) {}

    /** An appraisal: every policy appraised, every rule's result. */
    @Serdeable
    public record AppraisalReport(List<PolicyReport> policies) {
        public static AppraisalReport of(Appraisal a) {
            return new AppraisalReport(a.results().stream().map(r -> new PolicyReport(r.policyId(), r.version(),
                    r.satisfied(), r.rules().stream().map(x -> new RuleReport(x.rule(), x.passed(), x.observed(),
                            x.expected())).toList())).toList());
        }
    }

    /**
     * One node in detail.
     *
     * @param latestAppraisal the node's stored verified evidence appraised now against every current
     *     policy, each rule with pass/fail and observed versus expected values
     */
    @Serdeable
    public record NodeDetail(NodeSummary node, ClaimsView claims, String certificateChainPem,
            AppraisalReport latestAppraisal) {}

    static NodeSummary summary(NodeEntry e, PolicyRegistry policies, XdsSyncTracker sync) {
        Map<String, XdsTypeSync> xds = new LinkedHashMap<>();
        Map<String, XdsSyncTracker.TypeStatus> sent = sync.statuses(e.nodeId());
        for (String type : XDS_TYPES) {
            XdsSyncTracker.TypeStatus s = sent.get(type);
            xds.put(type, s == null ? new XdsTypeSync(XdsSyncTracker.SyncState.NOT_SENT.name(), "", "", null, null, null)
                    : new XdsTypeSync(s.state().name(), s.sentVersion(), s.ackedVersion(), s.nackDetail().orElse(null),
                            time(s.sentAt()), time(s.answeredAt())));
        }
        sent.forEach((type, s) -> xds.putIfAbsent(type, new XdsTypeSync(s.state().name(), s.sentVersion(),
                s.ackedVersion(), s.nackDetail().orElse(null), time(s.sentAt()), time(s.answeredAt()))));
        return new NodeSummary(e.nodeId(), e.spiffeId(), e.tee().wireName(), e.state().name(), e.stateReason(),
                e.measurement(), held(e.satisfiedPolicies(), policies), e.certSerialHex(), e.certNotAfter().toString(),
                e.evidenceExpiresAt().toString(), e.attestedAt().toString(), e.claims().insecure(), xds,
                e.registration(), e.kubernetes().map(k -> new KubernetesView(k.namespace(), k.serviceAccount(),
                        k.podUid())).orElse(null));
    }

    static NodeDetail detail(NodeEntry e, PolicyRegistry policies, XdsSyncTracker sync) {
        AttestationClaims c = e.claims();
        Map<String, Long> claimed = new LinkedHashMap<>();
        c.policies().forEach(p -> claimed.put(p.id(), p.version()));
        ClaimsView claims = new ClaimsView(c.tee().wireName(), c.measurements(), c.tcbStatus(), c.advisoryIds(),
                held(claimed, policies), c.evidenceSha256Hex(), c.attestedAt().toString(), c.insecure(), c.debug());
        Appraisal now = new PolicyAppraiser().appraise(e.evidence(), e.attestedAt(), policies.all(), Instant.now());
        return new NodeDetail(summary(e, policies, sync), claims, e.certChainPem(), AppraisalReport.of(now));
    }

    private static List<PolicyHeld> held(Map<String, Long> versions, PolicyRegistry policies) {
        return versions.entrySet().stream().map(v -> new PolicyHeld(v.getKey(), v.getValue(),
                policies.version(v.getKey()).orElse(-1) == v.getValue())).toList();
    }

    private static @Nullable String time(Instant i) {
        return i == null || i.equals(Instant.EPOCH) ? null : i.toString();
    }
}
