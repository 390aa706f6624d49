package dev.attestmesh.server.admin.metrics;

import dev.attestmesh.server.attest.AttestationMetrics;
import dev.attestmesh.server.xds.XdsStreamStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
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
 *   <li>{@code attestmesh_xds_connected_proxies}: open, authenticated xDS streams;
 *   <li>{@code attestmesh_xds_push_ack_duration_seconds{type,outcome}}: time from sending an xDS response
 *       to the proxy's ACK or NACK, a histogram.
 * </ul>
 *
 * The gRPC-side instruments ({@link #attestationInterceptor()}, {@link #authzInterceptor()},
 * {@link #pushLatency()}) observe calls without changing them.
 */
public final class MeshMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AttestationMetrics attestations;
    private final Set<String> bridgedKeys = ConcurrentHashMap.newKeySet();
    private final AttestationCallInterceptor attestationInterceptor;
    private final AuthzCheckInterceptor authzInterceptor;
    private final XdsPushLatencyRecorder pushLatency;

    public MeshMetrics(AttestationMetrics attestations, XdsStreamStats streams) {
        this.attestations = attestations;
        FunctionCounter.builder("attestmesh.certificates.issued", attestations, AttestationMetrics::certificatesIssued)
                .description("Leaf certificates issued to attested nodes").register(registry);
        Gauge.builder("attestmesh.xds.connected.proxies", streams, XdsStreamStats::openStreams)
                .description("Open, authenticated ADS/SDS streams").register(registry);
        this.attestationInterceptor = new AttestationCallInterceptor(registry);
        this.authzInterceptor = new AuthzCheckInterceptor(registry);
        this.pushLatency = new XdsPushLatencyRecorder(registry);
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

    /** The Prometheus text exposition of every metric. */
    public String scrape() {
        bridgeAttestationCounts();
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
