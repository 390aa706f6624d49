package dev.attestmesh.server.secrets;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One clause of a secret's access rule: a node holding registration {@code id}, or a node whose current
 * appraisal satisfies policy {@code id}. Written {@code registration:<id>} or {@code policy:<id>}.
 */
public record SecretRule(Kind kind, String id) {
    /** What a rule names. */
    public enum Kind {
        REGISTRATION("registration"), POLICY("policy");

        private final String prefix;

        Kind(String prefix) {
            this.prefix = prefix;
        }

        public String prefix() {
            return prefix;
        }
    }

    /** Registration and policy IDs as the rest of AttestMesh bounds them. */
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    public SecretRule {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(id, "id");
    }

    /**
     * Parses {@code registration:<id>} or {@code policy:<id>}.
     *
     * @throws IllegalArgumentException naming what is wrong with {@code text}
     */
    public static SecretRule parse(String text) {
        String t = text == null ? "" : text.trim();
        int colon = t.indexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("access rule '" + SecretLimits.printable(t)
                    + "' must be registration:<id> or policy:<id>");
        }
        String prefix = t.substring(0, colon);
        String id = t.substring(colon + 1);
        Kind kind = switch (prefix) {
            case "registration" -> Kind.REGISTRATION;
            case "policy" -> Kind.POLICY;
            default -> throw new IllegalArgumentException("access rule '" + SecretLimits.printable(t)
                    + "' must start with registration: or policy:");
        };
        if (!ID.matcher(id).matches()) {
            throw new IllegalArgumentException("access rule '" + SecretLimits.printable(t) + "': the " + prefix
                    + " id must match " + ID.pattern());
        }
        return new SecretRule(kind, id);
    }

    @Override
    public String toString() {
        return kind.prefix() + ":" + id;
    }
}
