package dev.attestmesh.server.secrets;

import java.util.regex.Pattern;

/** The bounds every secret write is checked against before anything is stored (docs/secrets.md, "Limits"). */
public final class SecretLimits {
    /** Secret names: lower case, digits, '.', '_', '-'; at most 63 characters; usable as a file name. */
    public static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
    /** Largest value stored, in bytes. */
    public static final int MAX_VALUE_BYTES = 64 * 1024;
    /** Most clauses in one secret's allow list, and in its export list. */
    public static final int MAX_RULES = 16;
    /** Most imports of one secret. */
    public static final int MAX_IMPORTS = 16;
    /** Most secrets stored. */
    public static final int MAX_SECRETS = 1024;

    private SecretLimits() {}

    /** Checks a name, naming the rule it breaks. */
    public static String requireName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("secret name '" + printable(name == null ? "" : name)
                    + "' must match " + NAME.pattern() + " (lower case, at most 63 characters)");
        }
        return name;
    }

    /** Caller text made safe for an error message: bounded and without control characters. */
    static String printable(String s) {
        String cut = s.length() > 80 ? s.substring(0, 80) + "..." : s;
        return cut.replaceAll("\\p{Cntrl}", "?");
    }
}
