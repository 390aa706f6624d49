package dev.attestmesh.envoy;

import java.util.List;

/**
 * An Envoy configuration could not be parsed, or parsed but breaks Envoy's schema. The message lists
 * every violation; {@link #violations()} gives them one by one.
 */
public final class EnvoyConfigException extends Exception {

    private static final long serialVersionUID = 1L;

    private final transient List<Violation> violations;

    /** A configuration with these violations (at least one). */
    public EnvoyConfigException(String subject, List<Violation> violations) {
        super(describe(subject, violations));
        this.violations = List.copyOf(violations);
    }

    /** A configuration that could not be parsed at all. */
    public EnvoyConfigException(String subject, String problem, Throwable cause) {
        super(subject + " is not valid: " + problem, cause);
        this.violations = List.of(new Violation("", problem));
    }

    /** Every violation found, in document order; parse failures give one with an empty path. */
    public List<Violation> violations() {
        return violations;
    }

    private static String describe(String subject, List<Violation> violations) {
        StringBuilder text = new StringBuilder(subject).append(" breaks Envoy's schema in ")
                .append(violations.size()).append(violations.size() == 1 ? " place" : " places")
                .append(" (fix each field named below):");
        for (Violation violation : violations) {
            text.append("\n  ").append(violation);
        }
        return text.toString();
    }
}
