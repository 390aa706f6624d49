package dev.attestmesh.perf;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** What the load harnesses share: their {@code --name value} arguments, the machine's load, and their report's last line. */
final class HarnessSupport {
    private HarnessSupport() {}

    /** {@code --name value} pairs, in order; anything else is refused. */
    static Map<String, String> parse(String[] args) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("arguments are --name value pairs; '" + args[i] + "' is not");
            }
            m.put(args[i].substring(2), args[++i]);
        }
        return m;
    }

    /** {@code --name value} pairs as {@link #parse(String[])}, refusing a name not in {@code known}. */
    static Map<String, String> parse(String[] args, java.util.Set<String> known) {
        Map<String, String> m = parse(args);
        for (String name : m.keySet()) {
            if (!known.contains(name)) {
                throw new IllegalArgumentException("unknown argument --" + name);
            }
        }
        return m;
    }

    /** The 1, 5 and 15 minute load averages, reported with every figure (this machine is shared). */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (Exception e) {
            return "unknown";
        }
    }

    static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }

    /** One JSON object of numbers and strings, the harness's last line; a NaN or infinite number is written as a string. */
    static String toJson(Map<String, Object> m) {
        StringBuilder sb = new StringBuilder("{");
        for (Map.Entry<String, Object> e : m.entrySet()) {
            if (sb.length() > 1) {
                sb.append(',');
            }
            sb.append('"').append(e.getKey()).append("\":");
            Object v = e.getValue();
            boolean number = v instanceof Number n && !(n instanceof Double d && (d.isNaN() || d.isInfinite()));
            sb.append(number ? v.toString() : "\"" + v.toString().replace("\"", "'") + "\"");
        }
        return sb.append('}').toString();
    }
}
