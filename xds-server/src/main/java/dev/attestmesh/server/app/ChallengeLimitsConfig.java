package dev.attestmesh.server.app;

import dev.attestmesh.admission.challenge.ChallengeLimits;
import io.micronaut.core.value.PropertyResolver;

/**
 * Reads the Challenge limits from configuration ({@code attestmesh.challenge.*}: command-line options,
 * {@code ATTESTMESH_CHALLENGE_*} environment variables, configuration files). A key not set keeps its
 * {@link ChallengeLimits#DEFAULTS} value; a value of the wrong type or outside its range stops the start
 * with a message naming the key.
 */
final class ChallengeLimitsConfig {
    private ChallengeLimitsConfig() {}

    static ChallengeLimits from(PropertyResolver config) {
        ChallengeLimits d = ChallengeLimits.DEFAULTS;
        return new ChallengeLimits(
                integer(config, ChallengeLimits.PER_NODE, d.perNode()),
                integer(config, ChallengeLimits.PER_PEER, d.perPeer()),
                integer(config, ChallengeLimits.MAX_OUTSTANDING, d.maxOutstanding()),
                integer(config, ChallengeLimits.RENEWAL_RESERVE, d.renewalReserve()),
                rate(config, ChallengeLimits.PEER_RATE, d.peerRate()),
                integer(config, ChallengeLimits.PEER_BURST, d.peerBurst()),
                rate(config, ChallengeLimits.RATE, d.rate()),
                integer(config, ChallengeLimits.BURST, d.burst()),
                rate(config, ChallengeLimits.RENEWAL_RATE, d.renewalRate()),
                integer(config, ChallengeLimits.RENEWAL_BURST, d.renewalBurst()));
    }

    private static int integer(PropertyResolver config, String key, int fallback) {
        String raw = config.getProperty(key, String.class).map(String::strip).orElse("");
        if (raw.isEmpty()) {
            return fallback;
        }
        try {
            return Integer.parseInt(raw.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a whole number, got '" + shorten(raw) + "'");
        }
    }

    private static double rate(PropertyResolver config, String key, double fallback) {
        String raw = config.getProperty(key, String.class).map(String::strip).orElse("");
        if (raw.isEmpty()) {
            return fallback;
        }
        try {
            return Double.parseDouble(raw.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a number of Challenges per second, got '"
                    + shorten(raw) + "'");
        }
    }

    private static String shorten(String s) {
        String t = s.length() > 32 ? s.substring(0, 32) + "..." : s;
        return t.replaceAll("\\p{Cntrl}", "?");
    }
}
