package dev.attestmesh.authz;

import java.time.Duration;
import java.time.Instant;

/**
 * A decision and the time window [decidedAt, validUntil) in which the decision cache may reuse it.
 * Denials live {@link #DENY_TTL} so that time-dependent refusals (not yet valid) heal.
 */
record TimedDecision(Decision decision, Instant decidedAt, Instant validUntil) {
    /** Denials are recomputed at least this often. */
    static final Duration DENY_TTL = Duration.ofSeconds(5);

    static TimedDecision deny(String reason, Instant now) {
        return new TimedDecision(new Decision.Deny(reason), now, now.plus(DENY_TTL));
    }

    /**
     * Whether the decision may be reused at {@code millis} (epoch ms, {@link java.time.Clock#millis()}, which costs a
     * fraction of building an {@link Instant}): only when that whole millisecond lies in [decidedAt, validUntil), so a
     * decision is never used a moment outside its window.
     */
    boolean usableAtMillis(long millis) {
        return millis >= ceilMillis(decidedAt) && millis < floorMillis(validUntil);
    }

    private static long floorMillis(Instant i) {
        long s = i.getEpochSecond();
        if (s > Long.MAX_VALUE / 1000 - 1) {
            return Long.MAX_VALUE;
        }
        if (s < Long.MIN_VALUE / 1000 + 1) {
            return Long.MIN_VALUE;
        }
        return s * 1000 + i.getNano() / 1_000_000;
    }

    private static long ceilMillis(Instant i) {
        long floor = floorMillis(i);
        return i.getNano() % 1_000_000 == 0 || floor == Long.MAX_VALUE ? floor : floor + 1;
    }
}
