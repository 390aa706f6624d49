package dev.attestmesh.envoy;

import java.net.Inet6Address;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The {@code validate.StringRules} well-known formats, with protoc-gen-validate's semantics. IP literals
 * are parsed locally: nothing here resolves a name.
 */
final class WellKnownFormats {

    // protoc-gen-validate's own expressions for the KnownRegex values. The "+-." in the header-name class
    // is a range (it admits ',' too) exactly as upstream has it; Envoy relies on that behaviour.
    static final Pattern HTTP_HEADER_NAME = Pattern.compile("^:?[0-9a-zA-Z!#$%&'*+-.^_|~`]+$");
    static final Pattern HTTP_HEADER_VALUE = Pattern.compile("^[^\\x00-\\x08\\x0A-\\x1F\\x7F]*$");
    /** The non-strict form of both: only NUL, CR and LF are refused. */
    static final Pattern HEADER_STRING = Pattern.compile("^[^\\x00\\n\\r]*$");

    private static final Pattern IPV4 = Pattern.compile(
            "^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$");
    private static final Pattern UUID = Pattern.compile(
            "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$");

    private WellKnownFormats() {
    }

    static boolean isHostname(String host) {
        String name = host.toLowerCase(Locale.ROOT);
        if (name.endsWith(".")) {
            name = name.substring(0, name.length() - 1);
        }
        if (name.length() > 253) {
            return false;
        }
        for (String label : name.split("\\.", -1)) {
            if (label.isEmpty() || label.length() > 63 || label.charAt(0) == '-'
                    || label.charAt(label.length() - 1) == '-') {
                return false;
            }
            for (int i = 0; i < label.length(); i++) {
                char c = label.charAt(i);
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
                    return false;
                }
            }
        }
        return true;
    }

    static boolean isIpv4(String text) {
        return IPV4.matcher(text).matches();
    }

    static boolean isIpv6(String text) {
        // Only colon forms reach the JDK parser, which then never resolves; zones and brackets are refused
        // as protoc-gen-validate's (Go net.ParseIP) refuses them.
        if (text.indexOf(':') < 0 || text.indexOf('%') >= 0 || text.indexOf('[') >= 0) {
            return false;
        }
        try {
            Inet6Address.ofLiteral(text);
            return true;
        } catch (IllegalArgumentException e) {
            // whatever the JDK's literal parser refuses is not an IPv6 literal
            return false;
        }
    }

    static boolean isIp(String text) {
        return isIpv4(text) || isIpv6(text);
    }

    static boolean isAddress(String text) {
        return isIp(text) || isHostname(text);
    }

    static boolean isEmail(String text) {
        String address = text;
        int open = address.indexOf('<');
        if (open >= 0 && address.endsWith(">")) {
            address = address.substring(open + 1, address.length() - 1);
        }
        int at = address.lastIndexOf('@');
        if (address.length() > 254 || at <= 0 || at > 64 || at == address.length() - 1) {
            return false;
        }
        String local = address.substring(0, at);
        for (int i = 0; i < local.length(); i++) {
            char c = local.charAt(i);
            if (c <= ' ' || c == '@' || c == '<' || c == '>' || c == '(' || c == ')' || c == ',') {
                return false;
            }
        }
        return isHostname(address.substring(at + 1));
    }

    static boolean isUri(String text) {
        try {
            return new URI(text).isAbsolute();
        } catch (URISyntaxException e) {
            return false;
        }
    }

    static boolean isUriReference(String text) {
        try {
            new URI(text);
            return true;
        } catch (URISyntaxException e) {
            return false;
        }
    }

    static boolean isUuid(String text) {
        return UUID.matcher(text).matches();
    }
}
