package dev.attestmesh.authz.peer;

/**
 * Makes text fit to appear in a denial reason or a log line. Denial reasons travel back to the calling
 * Envoy and into logs, and some of their parts come from whoever opened the connection (a principal,
 * a policy ID, an unverified certificate's issuer name). Such text is {@linkplain #quote quoted}:
 * printable ASCII only, bounded in length, so a peer can neither forge log lines nor make responses
 * large. Whole reasons are {@linkplain #bound bounded} as well.
 */
public final class UntrustedText {
    /** Longest denial reason sent or logged, in characters. */
    public static final int MAX_REASON_CHARS = 512;
    /** Longest piece of untrusted text quoted into a reason, in characters. */
    public static final int MAX_QUOTED_CHARS = 128;

    private UntrustedText() {}

    /**
     * {@code s} with every character outside printable ASCII replaced by {@code ?}, cut to {@value
     * #MAX_QUOTED_CHARS} characters (marked by {@code ...}).
     */
    public static String quote(String s) {
        return printable(s, MAX_QUOTED_CHARS, false);
    }

    /**
     * {@code reason} with control characters replaced by {@code ?} (other text, such as an operator's
     * non-ASCII revocation reason, is kept), cut to {@value #MAX_REASON_CHARS} characters.
     */
    public static String bound(String reason) {
        return printable(reason, MAX_REASON_CHARS, true);
    }

    private static String printable(String s, int max, boolean keepNonAscii) {
        int n = Math.min(s.length(), max);
        boolean clean = s.length() <= max;
        for (int i = 0; i < n && clean; i++) {
            clean = acceptable(s.charAt(i), keepNonAscii);
        }
        if (clean) {
            return s; // the common case: no copy
        }
        StringBuilder out = new StringBuilder(n + 3);
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            out.append(acceptable(c, keepNonAscii) ? c : '?');
        }
        if (s.length() > max) {
            out.setLength(max - 3);
            out.append("...");
        }
        return out.toString();
    }

    private static boolean acceptable(char c, boolean keepNonAscii) {
        if (c >= 0x20 && c < 0x7f) {
            return true;
        }
        return keepNonAscii && c > 0x9f && !Character.isISOControl(c) && !Character.isSurrogate(c)
                && Character.getType(c) != Character.FORMAT && c != '\u2028' && c != '\u2029';
    }
}
