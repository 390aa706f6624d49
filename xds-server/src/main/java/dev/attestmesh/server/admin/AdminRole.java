package dev.attestmesh.server.admin;

import java.util.Locale;

/**
 * Admin API roles, each including the ones below it: a viewer reads everything; an operator also
 * writes policies and revocations; an admin also rotates the CA and manages tokens.
 */
public enum AdminRole {
    VIEWER,
    OPERATOR,
    ADMIN;

    /** Whether a holder of this role may do what {@code required} allows. */
    public boolean includes(AdminRole required) {
        return ordinal() >= required.ordinal();
    }

    /**
     * @throws IllegalArgumentException naming the roles when {@code name} is none of them
     */
    public static AdminRole parse(String name) {
        if (name == null) {
            throw new IllegalArgumentException("role is required; use viewer, operator or admin");
        }
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown role '" + dev.attestmesh.input.UntrustedText.forLog(name, 32) + "'; use viewer, operator or admin", e);
        }
    }
}
