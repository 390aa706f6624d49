package dev.attestmesh.perf.extauthz;

import org.HdrHistogram.Histogram;

/**
 * What one load phase measured.
 *
 * @param calls completed calls
 * @param notOk calls that failed or whose CheckResponse status was not OK (every synthetic peer should be allowed)
 * @param latencyNanos per-call latency; for open-loop phases measured from the intended send time
 * @param sendLagNanos open loop only (else empty): how late each call left the sender after its intended
 *     time. Lateness is part of the latency above; a high lag with a low service time points at the
 *     machine (the sender thread was not scheduled), not at the server.
 */
public record PhaseResult(String name, String mode, int concurrency, long calls, long notOk, double seconds,
        Histogram latencyNanos, Histogram sendLagNanos) {

    public PhaseResult(String name, String mode, int concurrency, long calls, long notOk, double seconds,
            Histogram latencyNanos) {
        this(name, mode, concurrency, calls, notOk, seconds, latencyNanos, new Histogram(3));
    }

    public double sendLagPercentileMs(double p) {
        return sendLagNanos.getTotalCount() == 0 ? 0 : sendLagNanos.getValueAtPercentile(p) / 1e6;
    }

    public double perSecond() {
        return calls / seconds;
    }

    public double percentileMs(double p) {
        return latencyNanos.getValueAtPercentile(p) / 1e6;
    }
}
