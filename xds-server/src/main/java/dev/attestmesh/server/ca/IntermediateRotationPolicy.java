package dev.attestmesh.server.ca;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;

/**
 * When the control plane rotates the mesh CA's issuing intermediate on its own
 * ({@code attestmesh.ca.intermediate-rotation}). A closed set: never, when a third of the intermediate's
 * lifetime is left (the default), or once the intermediate reaches a fixed age. Rotating well before
 * expiry leaves time for the overlap, during which certificates the old intermediate issued keep
 * verifying while their nodes renew.
 */
public sealed interface IntermediateRotationPolicy {
    /** Shortest fixed period accepted: a rotation re-seals the CA and republishes every node's snapshot. */
    Duration MIN_PERIOD = Duration.ofHours(1);
    /** Longest fixed period accepted: below the intermediate's one-year lifetime, so it rotates before expiring. */
    Duration MAX_PERIOD = Duration.ofDays(364);

    /** The instant at which {@code intermediate} is due for rotation; empty when rotation is off. */
    Optional<Instant> dueAt(X509Certificate intermediate);

    /** Whether {@code intermediate} is due for rotation at {@code now}. */
    default boolean isDue(X509Certificate intermediate, Instant now) {
        return dueAt(intermediate).map(due -> !now.isBefore(due)).orElse(false);
    }

    /** How the policy reads in logs and docs. */
    String describe();

    /** No scheduled rotation; the intermediate is rotated only by an operator (admin API). */
    record Off() implements IntermediateRotationPolicy {
        @Override
        public Optional<Instant> dueAt(X509Certificate intermediate) {
            return Optional.empty();
        }

        @Override
        public String describe() {
            return "off (rotate with POST /api/v1/ca/rotate-intermediate)";
        }
    }

    /** Rotate when less than a third of the intermediate's validity period is left (the default). */
    record WhenThirdLeft() implements IntermediateRotationPolicy {
        @Override
        public Optional<Instant> dueAt(X509Certificate intermediate) {
            Instant notBefore = intermediate.getNotBefore().toInstant();
            Instant notAfter = intermediate.getNotAfter().toInstant();
            Duration life = Duration.between(notBefore, notAfter);
            return Optional.of(notAfter.minus(life.dividedBy(3)));
        }

        @Override
        public String describe() {
            return "auto (when less than 1/3 of the intermediate's lifetime is left)";
        }
    }

    /**
     * Rotate when the intermediate is {@code period} old (counted from its notBefore), or earlier if a
     * third of its lifetime is all that is left, so a period longer than the intermediate's life still
     * rotates before expiry.
     */
    record Every(Duration period) implements IntermediateRotationPolicy {
        public Every {
            if (period.compareTo(MIN_PERIOD) < 0 || period.compareTo(MAX_PERIOD) > 0) {
                throw new IllegalArgumentException("attestmesh.ca.intermediate-rotation must be 'auto', 'off' or a "
                        + "period between 1h and 364d, got " + RotationSettings.format(period));
            }
        }

        @Override
        public Optional<Instant> dueAt(X509Certificate intermediate) {
            Instant byAge = intermediate.getNotBefore().toInstant().plus(period);
            Instant byLife = new WhenThirdLeft().dueAt(intermediate).orElseThrow();
            return Optional.of(byAge.isBefore(byLife) ? byAge : byLife);
        }

        @Override
        public String describe() {
            return "every " + RotationSettings.format(period) + " of the intermediate's age";
        }
    }

    /**
     * Reads {@code attestmesh.ca.intermediate-rotation}: {@code auto}, {@code off} (or {@code 0}), or a
     * period such as {@code 90d}, {@code 2160h}, {@code P90D}.
     *
     * @throws IllegalArgumentException naming the key and the accepted forms when {@code raw} is none of them
     */
    static IntermediateRotationPolicy parse(String raw) {
        String s = raw.strip().toLowerCase(Locale.ROOT);
        if (s.equals("auto") || s.isEmpty()) {
            return new WhenThirdLeft();
        }
        if (s.equals("off") || s.equals("false") || s.equals("none")) {
            return new Off();
        }
        Duration d = RotationSettings.parseDuration(RotationSettings.INTERMEDIATE_ROTATION, raw);
        return d.isZero() ? new Off() : new Every(d);
    }
}
