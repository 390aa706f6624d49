package dev.attestmesh.quote.limits;

import java.time.Duration;
import java.util.Objects;

/**
 * How often a verifier may ask a remote collateral service (Intel PCS or a PCCS, AMD KDS) for something
 * it does not hold, and how long it remembers that a fetch failed.
 *
 * <p>Why: what triggers a fetch is a request from the network. Without a budget, a flood of distinct
 * reports (each naming a chip or TCB nobody has seen) turns into a flood of outbound requests, which
 * the vendor then rate-limits, so genuine nodes stop being admitted. The token bucket caps the rate at
 * {@code perSecond} with bursts of {@code burst}; a failed fetch is answered from memory for {@code
 * failureTtl} instead of being repeated.
 *
 * @param perSecond fetches per second on average (more than 0, at most 1,000)
 * @param burst fetches allowed at once after a quiet period (1 to 10,000)
 * @param failureTtl how long a failed fetch is remembered (1 s to 1 h)
 */
public record FetchLimits(double perSecond, int burst, Duration failureTtl) {
    /** Default rate: 5 fetches per second. */
    public static final double DEFAULT_PER_SECOND = 5;
    /** Default burst: 20 fetches. */
    public static final int DEFAULT_BURST = 20;
    /** Default failure memory: 30 seconds. */
    public static final Duration DEFAULT_FAILURE_TTL = Duration.ofSeconds(30);

    public FetchLimits {
        Objects.requireNonNull(failureTtl, "failureTtl");
        if (!(perSecond > 0 && perSecond <= 1_000)) {
            throw new IllegalArgumentException("collateral fetch rate must be more than 0 and at most 1000 per second, not "
                    + perSecond);
        }
        if (burst < 1 || burst > 10_000) {
            throw new IllegalArgumentException("collateral fetch burst must be 1 to 10000, not " + burst);
        }
        if (failureTtl.compareTo(Duration.ofSeconds(1)) < 0 || failureTtl.compareTo(Duration.ofHours(1)) > 0) {
            throw new IllegalArgumentException("collateral fetch failure TTL must be 1s to 1h, not " + failureTtl);
        }
    }

    /** 5 fetches per second, bursts of 20, failures remembered for 30 seconds. */
    public static FetchLimits defaults() {
        return new FetchLimits(DEFAULT_PER_SECOND, DEFAULT_BURST, DEFAULT_FAILURE_TTL);
    }
}
