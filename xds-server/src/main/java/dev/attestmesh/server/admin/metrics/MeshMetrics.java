package dev.attestmesh.server.admin.metrics;

import dev.attestmesh.authz.AuthzDecider;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.server.attest.AttestationFailureReason;
import dev.attestmesh.server.attest.AttestationMetrics;
import dev.attestmesh.server.registry.NodeEntry;
import dev.attestmesh.server.watch.RegistryWatchService;
import dev.attestmesh.server.xds.XdsStreamStats;
import dev.attestmesh.server.xds.XdsSyncTracker;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.Locale;
import java.util.function.Supplier;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The control plane's Prometheus metrics, in one registry served at {@code /metrics}:
 *
 * <ul>
 *   <li>{@code attestmesh_attestations_total{tee,result}}: Attest calls by TEE and outcome (bridged from
 *       {@link AttestationMetrics}, which the attestation service counts into);
 *   <li>{@code attestmesh_attestation_duration_seconds{tee,result}}: Attest call latency (evidence
 *       verification, appraisal and issuance), a histogram;
 *   <li>{@code attestmesh_certificates_issued_total};
 *   <li>{@code attestmesh_extauthz_checks_total{decision}}: ext_authz Checks answered allow, deny or error;
 *   <li>{@code attestmesh_extauthz_decisions_total{source}}: ext_authz decisions answered from the decision cache
 *       ({@code cache}) or made afresh ({@code computed}), once {@link #bindDecisions} has been called;
 *   <li>{@code attestmesh_xds_connected_proxies}: open, authenticated xDS streams;
 *   <li>{@code attestmesh_xds_push_ack_duration_seconds{type,outcome}}: time from sending an xDS response
 *       to the proxy's ACK or NACK, a histogram;
 *   <li>{@code attestmesh_attestation_failures_total{reason,check}}: failed Attest calls by reason, a closed set
 *       ({@link AttestationFailureReason}), and for {@code reason="evidence"} by the verification check that failed
 *       (a closed set too, {@link VerificationCheck}); every series exists from the start, at zero;
 *   <li>{@code attestmesh_extauthz_check_duration_seconds{decision}}: ext_authz Check latency, a histogram;
 *   <li>{@code attestmesh_xds_nacked_proxies} and {@code attestmesh_xds_stale_proxies}: nodes with at least one
 *       type NACKED (rejected configuration) or STALE (sent, unanswered);
 *   <li>node certificate expiry ({@link NodeCertificateExpiryMetrics}), standalone replica sync age
 *       ({@code attestmesh_authz_replica_last_sync_age_seconds{replica}}, {@code attestmesh_authz_replica_watching
 *       {replica}}, for the configured replica identities only), collateral expiry
 *       ({@link CollateralExpiryMetrics}, registered by the application factory);
 *   <li>JVM and process metrics (Micrometer's binders: {@code jvm_memory_*}, {@code jvm_gc_*}, {@code jvm_threads_*},
 *       {@code jvm_classes_*}, {@code process_cpu_usage}, {@code system_cpu_usage}, {@code process_uptime_seconds},
 *       {@code process_files_open_files}).
 * </ul>
 *
 * The gRPC-side instruments ({@link #attestationInterceptor()}, {@link #authzInterceptor()},
 * {@link #pushLatency()}) observe calls without changing them.
 */
public final class MeshMetrics implements AutoCloseable {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AttestationMetrics attestations;
    private final Set<String> bridgedKeys = ConcurrentHashMap.newKeySet();
    private final AttestationCallInterceptor attestationInterceptor;
    private final AuthzCheckInterceptor authzInterceptor;
    private final XdsPushLatencyRecorder pushLatency;
    private final JvmGcMetrics gc;
    private volatile NodeCertificateExpiryMetrics nodeCertificates;

    public MeshMetrics(AttestationMetrics attestations, XdsStreamStats streams) {
        this.attestations = attestations;
        FunctionCounter.builder("attestmesh.certificates.issued", attestations, AttestationMetrics::certificatesIssued)
                .description("Leaf certificates issued to attested nodes").register(registry);
        Gauge.builder("attestmesh.xds.connected.proxies", streams, XdsStreamStats::openStreams)
                .description("Open, authenticated ADS/SDS streams").register(registry);
        this.attestationInterceptor = new AttestationCallInterceptor(registry);
        this.authzInterceptor = new AuthzCheckInterceptor(registry);
        this.pushLatency = new XdsPushLatencyRecorder(registry);
        registerFailures(attestations);
        new ClassLoaderMetrics().bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        this.gc = new JvmGcMetrics();
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
    }

    /** One counter per failure reason and per evidence check, so no caller input can add a label value. */
    private void registerFailures(AttestationMetrics m) {
        String name = "attestmesh.attestation.failures";
        String description = "Failed Attest calls by reason (a closed set) and, for evidence, the check that failed";
        for (AttestationFailureReason r : AttestationFailureReason.values()) {
            FunctionCounter.builder(name, m, x -> x.failures(r)).description(description)
                    .tags("reason", r.label(), "check", "none").register(registry);
        }
        for (VerificationCheck c : VerificationCheck.values()) {
            FunctionCounter.builder(name, m, x -> x.evidenceFailures(c)).description(description)
                    .tags("reason", AttestationFailureReason.EVIDENCE.label(), "check",
                            c.name().toLowerCase(Locale.ROOT)).register(registry);
        }
    }

    /** Exports {@code decider}'s decisions by source: {@code attestmesh_extauthz_decisions_total{source}}. */
    public void bindDecisions(AuthzDecider decider) {
        bindDecisions(registry, decider);
    }

    /** As {@link #bindDecisions(AuthzDecider)}, into {@code into} (a standalone replica's registry). */
    static void bindDecisions(MeterRegistry into, AuthzDecider decider) {
        FunctionCounter.builder("attestmesh.extauthz.decisions", decider, AuthzDecider::cachedDecisions)
                .tag("source", "cache").description("ext_authz decisions answered from the decision cache")
                .register(into);
        FunctionCounter.builder("attestmesh.extauthz.decisions", decider, AuthzDecider::computedDecisions)
                .tag("source", "computed").description("ext_authz decisions made afresh (decision cache misses)")
                .register(into);
    }

    /**
     * Adds the metrics read from the running control plane: node certificate expiry, xDS proxies NACKing or stale,
     * and the sync age of each configured standalone replica. Called once, when those parts exist.
     */
    public void bind(Supplier<Collection<NodeEntry>> nodes, XdsSyncTracker sync, RegistryWatchService watch,
            Clock clock) {
        this.nodeCertificates = new NodeCertificateExpiryMetrics(registry, nodes, clock,
                NodeCertificateExpiryMetrics.DEFAULT_MAX_SERIES);
        Gauge.builder("attestmesh.xds.nacked.proxies", sync, s -> s.nodesIn(XdsSyncTracker.SyncState.NACKED))
                .description("Proxies whose last response of at least one type was NACKed (configuration rejected)")
                .register(registry);
        Gauge.builder("attestmesh.xds.stale.proxies", sync, s -> s.nodesIn(XdsSyncTracker.SyncState.STALE))
                .description("Proxies with at least one response sent and not yet answered").register(registry);
        for (String replica : watch.replicaSyncAges().keySet()) {
            Gauge.builder("attestmesh.authz.replica.last.sync.age", watch,
                            w -> w.replicaSyncAges().getOrDefault(replica, Duration.ZERO).toMillis() / 1000.0)
                    .baseUnit("seconds")
                    .description("Seconds since this standalone ext_authz replica last received a registry event "
                            + "(or since start, if it never connected)")
                    .tag("replica", replica).register(registry);
            Gauge.builder("attestmesh.authz.replica.watching", watch, w -> w.watching(replica) ? 1 : 0)
                    .description("1 while this standalone ext_authz replica holds an open registry watch")
                    .tag("replica", replica).register(registry);
        }
    }

    /** The node certificate expiry gauges (after {@link #bind}). */
    public NodeCertificateExpiryMetrics nodeCertificates() {
        return nodeCertificates;
    }

    /** Times Attest calls; install on the attestation service. */
    public AttestationCallInterceptor attestationInterceptor() {
        return attestationInterceptor;
    }

    /** Counts ext_authz decisions; install on the Authorization service. */
    public AuthzCheckInterceptor authzInterceptor() {
        return authzInterceptor;
    }

    /** Measures xDS push-to-ACK latency; register as a discovery server callback. */
    public XdsPushLatencyRecorder pushLatency() {
        return pushLatency;
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** Stops the JVM GC listener; the registry keeps its last values. */
    @Override
    public void close() {
        gc.close();
    }

    /** The Prometheus text exposition of every metric. */
    public String scrape() {
        bridgeAttestationCounts();
        NodeCertificateExpiryMetrics certificates = nodeCertificates;
        if (certificates != null) {
            certificates.refresh();
        }
        return registry.scrape();
    }

    /** Registers a counter for every {@code tee|result} pair the attestation service has seen so far. */
    private void bridgeAttestationCounts() {
        for (String key : attestations.attestationCounts().keySet()) {
            if (bridgedKeys.add(key)) {
                int bar = key.indexOf('|');
                FunctionCounter.builder("attestmesh.attestations", attestations,
                                m -> m.attestationCounts().getOrDefault(key, 0L))
                        .description("Attest calls by TEE and result")
                        .tags("tee", key.substring(0, bar), "result", key.substring(bar + 1))
                        .register(registry);
            }
        }
    }
}
