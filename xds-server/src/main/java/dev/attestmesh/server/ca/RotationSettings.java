package dev.attestmesh.server.ca;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How the control plane keeps its certificates current while it runs (docs/operator-guide.md,
 * "Certificate rotation"): its own gRPC serving certificate is renewed before it expires, and the mesh
 * CA's issuing intermediate is rotated on a schedule with an overlap. Without these a control plane
 * running longer than its serving certificate's lifetime would present an expired certificate, and an
 * intermediate left alone would expire under the whole mesh.
 *
 * @param serverCertTtl lifetime of the serving certificate ({@code attestmesh.server-cert.ttl}, default
 *     30 days, 1 hour to 365 days; never past the issuing intermediate's expiry)
 * @param serverCertRenewBefore how long before expiry the serving certificate is renewed
 *     ({@code attestmesh.server-cert.renew-before}, default a third of the TTL; between a tenth and a half
 *     of it). A certificate cut short by its intermediate is renewed at the same fraction of its life.
 * @param intermediateRotation when the issuing intermediate is rotated ({@code attestmesh.ca.intermediate-rotation})
 * @param intermediateOverlap how long a rotated-out intermediate stays in the trust bundle
 *     ({@code attestmesh.ca.intermediate-overlap}, default 7 days, 1 hour to 90 days); must cover the
 *     longest node certificate ({@code attestmesh.max-certificate-ttl}) so no certificate outlives the
 *     trust in its issuer
 * @param checkInterval how often the control plane checks whether a renewal or rotation is due, and
 *     whether another replica rotated ({@code attestmesh.rotation.check-interval}, default 1 minute,
 *     50 ms to 1 hour)
 */
public record RotationSettings(Duration serverCertTtl, Duration serverCertRenewBefore,
        IntermediateRotationPolicy intermediateRotation, Duration intermediateOverlap, Duration checkInterval) {
    public static final String SERVER_CERT_TTL = "attestmesh.server-cert.ttl";
    public static final String SERVER_CERT_RENEW_BEFORE = "attestmesh.server-cert.renew-before";
    public static final String INTERMEDIATE_ROTATION = "attestmesh.ca.intermediate-rotation";
    public static final String INTERMEDIATE_OVERLAP = "attestmesh.ca.intermediate-overlap";
    public static final String CHECK_INTERVAL = "attestmesh.rotation.check-interval";

    public static final Duration DEFAULT_SERVER_CERT_TTL = Duration.ofDays(30);
    public static final Duration DEFAULT_OVERLAP = Duration.ofDays(7);
    public static final Duration DEFAULT_CHECK_INTERVAL = Duration.ofMinutes(1);
    static final Duration MIN_SERVER_CERT_TTL = Duration.ofHours(1);
    static final Duration MAX_SERVER_CERT_TTL = Duration.ofDays(365);
    static final Duration MIN_OVERLAP = Duration.ofHours(1);
    static final Duration MAX_OVERLAP = Duration.ofDays(90);
    static final Duration MIN_CHECK_INTERVAL = Duration.ofMillis(50);
    static final Duration MAX_CHECK_INTERVAL = Duration.ofHours(1);

    /** The defaults: 30-day serving certificate renewed 10 days before expiry, auto rotation, 7-day overlap. */
    public static final RotationSettings DEFAULTS = new RotationSettings(DEFAULT_SERVER_CERT_TTL,
            DEFAULT_SERVER_CERT_TTL.dividedBy(3), new IntermediateRotationPolicy.WhenThirdLeft(), DEFAULT_OVERLAP,
            DEFAULT_CHECK_INTERVAL);

    private static final Pattern SHORT = Pattern.compile("(\\d{1,9})(ms|s|m|h|d)");

    public RotationSettings {
        Objects.requireNonNull(intermediateRotation, "intermediateRotation");
        within(SERVER_CERT_TTL, serverCertTtl, MIN_SERVER_CERT_TTL, MAX_SERVER_CERT_TTL);
        Objects.requireNonNull(serverCertRenewBefore, SERVER_CERT_RENEW_BEFORE);
        Duration least = serverCertTtl.dividedBy(10);
        Duration most = serverCertTtl.dividedBy(2);
        if (serverCertRenewBefore.compareTo(least) < 0 || serverCertRenewBefore.compareTo(most) > 0) {
            throw new IllegalArgumentException(SERVER_CERT_RENEW_BEFORE + " must be between a tenth and a half of "
                    + SERVER_CERT_TTL + " (" + format(least) + " to " + format(most) + " for a TTL of "
                    + format(serverCertTtl) + "), got " + format(serverCertRenewBefore));
        }
        within(INTERMEDIATE_OVERLAP, intermediateOverlap, MIN_OVERLAP, MAX_OVERLAP);
        within(CHECK_INTERVAL, checkInterval, MIN_CHECK_INTERVAL, MAX_CHECK_INTERVAL);
    }

    /** These settings with another check interval (tests check often; production once a minute). */
    public RotationSettings withCheckInterval(Duration interval) {
        return new RotationSettings(serverCertTtl, serverCertRenewBefore, intermediateRotation, intermediateOverlap,
                interval);
    }

    /** These settings with another serving certificate TTL and renew-before. */
    public RotationSettings withServerCert(Duration ttl, Duration renewBefore) {
        return new RotationSettings(ttl, renewBefore, intermediateRotation, intermediateOverlap, checkInterval);
    }

    /** These settings with another intermediate rotation policy and overlap. */
    public RotationSettings withIntermediateRotation(IntermediateRotationPolicy policy, Duration overlap) {
        return new RotationSettings(serverCertTtl, serverCertRenewBefore, policy, overlap, checkInterval);
    }

    /**
     * Settings from configuration values as operators write them; an empty value takes the default
     * (for {@code renewBefore}: a third of the TTL).
     *
     * @throws IllegalArgumentException naming the key, when a value does not parse or is out of bounds
     */
    public static RotationSettings parse(String ttl, String renewBefore, String rotation, String overlap,
            String checkInterval) {
        Duration t = ttl.isBlank() ? DEFAULT_SERVER_CERT_TTL : parseDuration(SERVER_CERT_TTL, ttl);
        within(SERVER_CERT_TTL, t, MIN_SERVER_CERT_TTL, MAX_SERVER_CERT_TTL);
        Duration rb = renewBefore.isBlank() ? t.dividedBy(3) : parseDuration(SERVER_CERT_RENEW_BEFORE, renewBefore);
        return new RotationSettings(t, rb, IntermediateRotationPolicy.parse(rotation),
                overlap.isBlank() ? DEFAULT_OVERLAP : parseDuration(INTERMEDIATE_OVERLAP, overlap),
                checkInterval.isBlank() ? DEFAULT_CHECK_INTERVAL : parseDuration(CHECK_INTERVAL, checkInterval));
    }

    /**
     * Refuses an overlap shorter than the longest node certificate a policy may ask for: a certificate
     * issued just before a scheduled rotation would otherwise outlive the trust bundle entry of its issuer.
     * Only checked when scheduled rotation is on; a manual rotation names its own overlap.
     *
     * @throws IllegalArgumentException naming both keys
     */
    public void checkOverlapCovers(Duration maxCertificateTtl) {
        if (!(intermediateRotation instanceof IntermediateRotationPolicy.Off)
                && intermediateOverlap.compareTo(maxCertificateTtl) < 0) {
            throw new IllegalArgumentException(INTERMEDIATE_OVERLAP + " (" + format(intermediateOverlap)
                    + ") is shorter than attestmesh.max-certificate-ttl (" + format(maxCertificateTtl) + "): node "
                    + "certificates issued just before a scheduled rotation would stop verifying before they expire");
        }
    }

    /** The settings as operators read them in the start-up log. */
    public String describe() {
        return "serving certificate for " + format(serverCertTtl) + ", renewed " + format(serverCertRenewBefore)
                + " before expiry; intermediate rotation " + intermediateRotation.describe() + ", overlap "
                + format(intermediateOverlap) + "; checked every " + format(checkInterval);
    }

    /**
     * Reads a duration: {@code 500ms}, {@code 30s}, {@code 10m}, {@code 12h}, {@code 30d} or ISO-8601
     * ({@code PT12H}, {@code P30D}). Negative values are refused.
     *
     * @throws IllegalArgumentException naming {@code key} and showing (a shortened, printable) {@code raw}
     */
    public static Duration parseDuration(String key, String raw) {
        String s = raw.strip().toLowerCase(Locale.ROOT);
        Duration d;
        Matcher m = SHORT.matcher(s);
        if (s.equals("0")) {
            d = Duration.ZERO;
        } else if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            d = switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            };
        } else {
            try {
                d = Duration.parse(s.toUpperCase(Locale.ROOT));
            } catch (DateTimeParseException e) {
                throw new IllegalArgumentException(key + " must be a duration such as 30d, 12h, 10m, 30s, 500ms or "
                        + "P30D, got '" + printable(raw) + "'");
            }
        }
        if (d.isNegative()) {
            throw new IllegalArgumentException(key + " must not be negative, got '" + printable(raw) + "'");
        }
        return d;
    }

    /** A duration as operators write it: {@code 30d}, {@code 12h}, {@code 90m}, {@code 45s} or {@code 500ms}. */
    static String format(Duration d) {
        if (d.isZero()) {
            return "0s";
        }
        if (d.toMillis() % 1000 != 0 || d.toSeconds() == 0) {
            return d.toMillis() + "ms";
        }
        long s = d.toSeconds();
        if (s % 86_400 == 0) {
            return s / 86_400 + "d";
        }
        if (s % 3_600 == 0) {
            return s / 3_600 + "h";
        }
        return s % 60 == 0 ? s / 60 + "m" : s + "s";
    }

    private static void within(String key, Duration d, Duration min, Duration max) {
        Objects.requireNonNull(d, key);
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            throw new IllegalArgumentException(key + " must be between " + format(min) + " and " + format(max)
                    + ", got " + format(d));
        }
    }

    private static String printable(String s) {
        String t = s.length() > 32 ? s.substring(0, 32) + "..." : s;
        return t.replaceAll("\\p{Cntrl}", "?");
    }
}
