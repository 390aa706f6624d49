package dev.attestmesh.server.attest;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters for attestations by TEE and result, verification latency, and certificates issued. Read
 * by the admin API's metrics endpoint.
 */
public final class AttestationMetrics {
    private static final java.util.Set<String> KNOWN_TEES = java.util.Arrays.stream(dev.attestmesh.quote.TeeType.values())
            .map(dev.attestmesh.quote.TeeType::wireName).collect(java.util.stream.Collectors.toUnmodifiableSet());
    private final Map<String, LongAdder> attestations = new ConcurrentHashMap<>();
    private final LongAdder latencyNanos = new LongAdder();
    private final LongAdder certificates = new LongAdder();
    private final Map<AttestationFailureReason, LongAdder> failures = new java.util.EnumMap<>(AttestationFailureReason.class);
    private final Map<dev.attestmesh.quote.VerificationCheck, LongAdder> evidenceFailures =
            new java.util.EnumMap<>(dev.attestmesh.quote.VerificationCheck.class);

    public AttestationMetrics() {
        for (AttestationFailureReason r : AttestationFailureReason.values()) {
            failures.put(r, new LongAdder());
        }
        for (dev.attestmesh.quote.VerificationCheck c : dev.attestmesh.quote.VerificationCheck.values()) {
            evidenceFailures.put(c, new LongAdder());
        }
    }

    /**
     * Counts one failed attestation by its reason; an {@link AttestationFailureReason#EVIDENCE} failure also by the
     * verification check that refused it. Both are closed enums: the maps are filled at construction and never grow.
     */
    public void failure(AttestationFailureReason reason, java.util.Optional<dev.attestmesh.quote.VerificationCheck> check) {
        if (reason == AttestationFailureReason.EVIDENCE && check.isPresent()) {
            evidenceFailures.get(check.get()).increment();
        } else {
            failures.get(reason).increment();
        }
    }

    /** Failures counted under {@code reason} (for evidence failures: those without a named check). */
    public long failures(AttestationFailureReason reason) {
        return failures.get(reason).sum();
    }

    /** Evidence failures counted under the verification check {@code check}. */
    public long evidenceFailures(dev.attestmesh.quote.VerificationCheck check) {
        return evidenceFailures.get(check).sum();
    }

    /**
     * Counts one attestation. {@code tee} is what the caller sent: anything but a known TEE's wire name
     * is counted as {@code invalid}, so callers cannot grow the set of labels.
     */
    public void attestation(String tee, String result, long nanos) {
        String t = knownTeeOrInvalid(tee);
        attestations.computeIfAbsent(t + "|" + result, k -> new LongAdder()).increment();
        latencyNanos.add(nanos);
    }

    /** {@code tee} when it is a known TEE's wire name, else {@code invalid}. */
    public static String knownTeeOrInvalid(String tee) {
        return KNOWN_TEES.contains(tee) ? tee : "invalid";
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
