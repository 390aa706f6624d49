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

    boolean usableAt(Instant t) {
        return !t.isBefore(decidedAt) && t.isBefore(validUntil);
    }
}
