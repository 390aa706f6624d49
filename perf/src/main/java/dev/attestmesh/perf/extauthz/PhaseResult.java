package dev.attestmesh.perf.extauthz;

import org.HdrHistogram.Histogram;

/**
 * What one load phase measured.
 *
 * @param calls completed calls
 * @param notOk calls that failed or whose CheckResponse status was not OK (every synthetic peer should be allowed)
 * @param latencyNanos per-call latency; for open-loop phases measured from the intended send time
 */
public record PhaseResult(String name, String mode, int concurrency, long calls, long notOk, double seconds,
        Histogram latencyNanos) {
    public double perSecond() {
        return calls / seconds;
    }

    public double percentileMs(double p) {
        return latencyNanos.getValueAtPercentile(p) / 1e6;
    }
}
