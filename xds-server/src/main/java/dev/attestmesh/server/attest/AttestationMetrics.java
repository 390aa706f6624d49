package dev.attestmesh.server.attest;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters for attestations by TEE and result, verification latency, and certificates issued. Read
 * by the admin API's metrics endpoint.
 */
public final class AttestationMetrics {
    private final Map<String, LongAdder> attestations = new ConcurrentHashMap<>();
    private final LongAdder latencyNanos = new LongAdder();
    private final LongAdder certificates = new LongAdder();

    public void attestation(String tee, String result, long nanos) {
        String t = tee.matches("[a-z]{1,8}") ? tee : "invalid";
        attestations.computeIfAbsent(t + "|" + result, k -> new LongAdder()).increment();
        latencyNanos.add(nanos);
    }

    public void certificateIssued() {
        certificates.increment();
    }

    /** Attestation counts keyed {@code tee|result}. */
    public Map<String, Long> attestationCounts() {
        Map<String, Long> out = new java.util.TreeMap<>();
        attestations.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }

    public long certificatesIssued() {
        return certificates.sum();
    }

    public long totalLatencyNanos() {
        return latencyNanos.sum();
    }
}
