package dev.attestmesh.server.admin.tls;

import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Value;
import java.net.InetAddress;
import java.util.Locale;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How the admin API listens: {@code attestmesh.admin-bind}, {@code attestmesh.admin.tls} ({@code on} or
 * {@code off}) and {@code attestmesh.admin.allow-plaintext}. Checked when the context starts, before any port
 * opens.
 *
 * <p>Why: the admin API carries bearer tokens and changes policy; over plain HTTP they are readable by anyone on
 * the path. Plain HTTP stays the default on loopback (a local operator, the embedded setup), and any other bind
 * address without TLS is refused unless the operator says so explicitly ({@code allow-plaintext=true}, for
 * example when a mesh sidecar in the same pod already encrypts the hop), which is logged as a warning.
 */
@Context
public final class AdminListenerSettings {
    private static final Logger LOG = LoggerFactory.getLogger(AdminListenerSettings.class);
    private static final Pattern IP_LITERAL = Pattern.compile("[0-9.]+|\\[?[0-9a-fA-F:.]*:[0-9a-fA-F:.]*]?");

    private final boolean tls;
    private final String bind;

    AdminListenerSettings(@Value("${micronaut.server.host:127.0.0.1}") String bind,
            @Value("${attestmesh.admin.tls:off}") String tls,
            @Value("${attestmesh.admin.allow-plaintext:false}") String allowPlaintext) {
        this(bind, tls, allowPlaintext, true);
    }

    private AdminListenerSettings(String bind, String tls, String allowPlaintext, boolean log) {
        this.bind = bind.strip();
        this.tls = parseTls(tls);
        boolean plaintextAllowed = parseBoolean("attestmesh.admin.allow-plaintext", allowPlaintext);
        if (!this.tls && !isLoopback(this.bind)) {
            if (!plaintextAllowed) {
                throw new IllegalArgumentException("attestmesh.admin-bind is '" + this.bind + "', which is not a "
                        + "loopback address, and attestmesh.admin.tls is off: admin tokens would cross the network in "
                        + "plain HTTP. Set attestmesh.admin.tls=on (ATTESTMESH_ADMIN_TLS=on, --admin-tls on), or bind "
                        + "127.0.0.1, or accept plain HTTP explicitly with attestmesh.admin.allow-plaintext=true");
            }
            if (log) {
                LOG.warn("admin API serves plain HTTP on non-loopback address {} (attestmesh.admin.allow-plaintext=true):"
                        + " admin tokens are readable on the network path unless something else encrypts it", this.bind);
            }
        }
    }

    /** Validates a combination without a context (for the CLI and tests). */
    public static AdminListenerSettings of(String bind, String tls, String allowPlaintext) {
        return new AdminListenerSettings(bind, tls, allowPlaintext, false);
    }

    /** True when the admin API serves HTTPS with the control plane's mesh CA certificate. */
    public boolean tls() {
        return tls;
    }

    /** The address the admin API binds. */
    public String bind() {
        return bind;
    }

    static boolean parseTls(String value) {
        // "true"/"false": YAML 1.1 reads a bare on/off as a boolean.
        return switch (value.strip()) {
            case "on", "true" -> true;
            case "off", "false" -> false;
            default -> throw new IllegalArgumentException("attestmesh.admin.tls must be 'on' or 'off', not '"
                    + abbreviate(value) + "'");
        };
    }

    private static boolean parseBoolean(String key, String value) {
        return switch (value.strip().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false", "" -> false;
            default -> throw new IllegalArgumentException(key + " must be 'true' or 'false', not '"
                    + abbreviate(value) + "'");
        };
    }

    /**
     * Loopback by its text, without a DNS lookup: {@code localhost}, an IPv4 literal in 127.0.0.0/8, or
     * {@code ::1}. A host name other than {@code localhost} counts as non-loopback (it may resolve anywhere).
     */
    static boolean isLoopback(String host) {
        if (host.equalsIgnoreCase("localhost")) {
            return true;
        }
        if (host.length() > 64 || !IP_LITERAL.matcher(host).matches()) {
            return false;
        }
        String literal = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        try {
            return InetAddress.ofLiteral(literal).isLoopbackAddress();
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }
}
