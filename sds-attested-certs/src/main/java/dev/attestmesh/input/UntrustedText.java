package dev.attestmesh.input;

import java.util.Optional;

/**
 * The one place that decides how text from outside (requests, files, peers) may appear in logs, error
 * messages and stored values. Three uses, three methods:
 *
 * <ul>
 *   <li>{@link #forLog}: unvalidated text shown in a log line or an error message: bounded, and every
 *       character outside a small printable ASCII set replaced, so a caller cannot forge log lines
 *       (line breaks), hide text (bidi and other format characters) or reach logger lookups
 *       ({@code $&#123;...&#125;});
 *   <li>{@link #lineProblem}: edge validation of free text that will be stored and shown (reasons): a
 *       single line of printable characters, at most a named number of them;
 *   <li>{@link #fit}: a stored value composed from a prefix and validated text, bounded to its column
 *       by construction, so no composition can overflow a column or carry a character a database
 *       refuses (PostgreSQL refuses NUL in text).
 * </ul>
 *
 * Lengths are in UTF-16 characters, which is what {@code VARCHAR(n)} counts on H2 and PostgreSQL for
 * text without supplementary characters, and never less than it for text with them.
 */
public final class UntrustedText {
    /** The usual bound of caller text in a log line or message. */
    public static final int LOG_CHARS = 128;

    private UntrustedText() {}

    /**
     * {@code value} fit for a log line or an error message: at most {@code max} characters (then
     * {@code ...}), anything but ASCII letters, digits and {@code . : _ / @ - , ( ) =} and space
     * replaced by {@code ?}; {@code (none)} for null.
     */
    public static String forLog(String value, int max) {
        if (value == null) {
            return "(none)";
        }
        StringBuilder b = new StringBuilder(Math.min(value.length(), max) + 3);
        for (int i = 0; i < value.length() && b.length() < max; i++) {
            char c = value.charAt(i);
            boolean plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || ".:_/@- ,()=".indexOf(c) >= 0;
            b.append(plain ? c : '?');
        }
        return value.length() > max ? b + "..." : b.toString();
    }

    /** {@link #forLog(String, int)} bounded to {@value #LOG_CHARS} characters. */
    public static String forLog(String value) {
        return forLog(value, LOG_CHARS);
    }

    /**
     * Why {@code value} is not one line of at most {@code maxChars} printable characters, naming the
     * field and the limit; empty when it is. Refused: control characters (line breaks, tabs, NUL, C1),
     * format characters (bidi overrides, zero-width), line and paragraph separators, unpaired
     * surrogates (text that did not come from valid UTF-8) and the noncharacters U+FFFE and U+FFFF.
     * An empty value passes; callers that need one say so themselves.
     */
    public static Optional<String> lineProblem(String field, String value, int maxChars) {
        if (value == null) {
            return Optional.empty();
        }
        if (value.length() > maxChars) {
            return Optional.of(field + " is " + value.length() + " characters long; at most " + maxChars
                    + " are accepted");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
                i++;
                continue;
            }
            if (!printable(c)) {
                return Optional.of(field + " contains control characters or other invisible or invalid characters "
                        + "(the first at position " + i + ", such as a line break); send one line of at most " + maxChars
                        + " printable characters");
            }
        }
        return Optional.empty();
    }

    /**
     * {@code value} made to fit a stored column of {@code maxChars} characters: characters that
     * {@link #lineProblem} refuses are replaced by {@code ?}, and a longer value is cut (never inside a
     * surrogate pair) and ends with {@code ...}. Text that passed {@link #lineProblem} and fits is
     * returned unchanged.
     *
     * @throws IllegalArgumentException when {@code maxChars} is less than 4
     */
    public static String fit(String value, int maxChars) {
        if (maxChars < 4) {
            throw new IllegalArgumentException("a column must hold at least 4 characters, not " + maxChars);
        }
        if (value == null) {
            return "";
        }
        boolean clean = value.length() <= maxChars && lineProblem("value", value, maxChars).isEmpty();
        if (clean) {
            return value;
        }
        int keep = value.length() <= maxChars ? value.length() : maxChars - 3;
        StringBuilder b = new StringBuilder(maxChars);
        for (int i = 0; i < keep; i++) {
            char c = value.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
                if (i + 1 >= keep) {
                    break; // the pair would be cut: leave both out
                }
                b.append(c).append(value.charAt(i + 1));
                i++;
                continue;
            }
            b.append(printable(c) ? c : '?');
        }
        return value.length() <= maxChars ? b.toString() : b + "...";
    }

    private static boolean printable(char c) {
        if (Character.isSurrogate(c) || c == '\uFFFE' || c == '\uFFFF') {
            return false; // paired surrogates are handled by the callers
        }
        return switch (Character.getType(c)) {
            case Character.CONTROL, Character.FORMAT, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR,
                    Character.UNASSIGNED -> false;
            default -> true;
        };
    }
}
