package dev.attestmesh.server.seed;

import java.util.Locale;

/**
 * What a policy, registration or mesh file given at start does to the store (docs/operator-guide.md, "Files
 * given at start"). The default, {@link #SEED}, keeps a restart from silently undoing changes made through the
 * admin API; {@link #APPLY} makes the file the source of truth, as a GitOps deployment wants.
 */
public enum FileMode {
    /** The file fills an empty store (first start) and is otherwise left unapplied, with its difference logged. */
    SEED,
    /** The file replaces the stored set at every start, with the difference logged. */
    APPLY;

    /**
     * Reads a mode property ({@code seed} or {@code apply}, any case, surrounding blanks ignored).
     *
     * @param property the property's name, for the error message
     * @throws IllegalArgumentException naming the property and the accepted values
     */
    public static FileMode parse(String property, String value) {
        String v = value == null ? "" : value.strip().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "seed" -> SEED;
            case "apply" -> APPLY;
            default -> throw new IllegalArgumentException(property + " must be 'seed' or 'apply', not '"
                    + (v.length() > 40 ? v.substring(0, 40) + "..." : v) + "'");
        };
    }

    /** The property value: {@code seed} or {@code apply}. */
    public String value() {
        return name().toLowerCase(Locale.ROOT);
    }
}
