package dev.attestmesh.server.admin.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A reader of the Prometheus text exposition format (version 0.0.4) for tests: metric families with their
 * {@code # TYPE}, and samples with their labels. Strict: a line that is neither a comment nor a well-formed sample
 * fails the test that parses it.
 */
public record PrometheusText(Map<String, String> types, List<Sample> samples) {
    /** One sample line. */
    public record Sample(String name, Map<String, String> labels, double value) {}

    private static final Pattern TYPE = Pattern.compile("# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)");
    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})? (\\S+)( \\d+)?");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\",?");

    public static PrometheusText parse(String text) {
        Map<String, String> types = new LinkedHashMap<>();
        List<Sample> samples = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            if (line.startsWith("#")) {
                Matcher t = TYPE.matcher(line);
                if (t.matches()) {
                    types.put(t.group(1), t.group(2));
                } else if (!line.startsWith("# HELP ")) {
                    throw new AssertionError("unexpected comment line: " + line);
                }
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            if (!m.matches()) {
                throw new AssertionError("not a sample line: " + line);
            }
            Map<String, String> labels = new LinkedHashMap<>();
            if (m.group(3) != null) {
                Matcher l = LABEL.matcher(m.group(3));
                int end = 0;
                while (l.find() && l.start() == end) {
                    labels.put(l.group(1), l.group(2));
                    end = l.end();
                }
                if (end != m.group(3).length()) {
                    throw new AssertionError("malformed labels: " + line);
                }
            }
            samples.add(new Sample(m.group(1), labels, value(m.group(4))));
        }
        return new PrometheusText(types, samples);
    }

    private static double value(String v) {
        return switch (v) {
            case "NaN" -> Double.NaN;
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            default -> Double.parseDouble(v);
        };
    }

    /** The family a sample name belongs to ({@code x_bucket}, {@code x_count}, {@code x_sum} of histogram {@code x}). */
    public String familyOf(String sampleName) {
        for (String suffix : List.of("_bucket", "_count", "_sum", "_max")) {
            if (sampleName.endsWith(suffix)) {
                String base = sampleName.substring(0, sampleName.length() - suffix.length());
                if (types.containsKey(base)) {
                    return base;
                }
            }
        }
        return sampleName;
    }

    /** Every sample and family name exported (what a PromQL selector may name). */
    public java.util.Set<String> names() {
        java.util.Set<String> out = new java.util.TreeSet<>(types.keySet());
        samples.forEach(s -> out.add(s.name()));
        return out;
    }

    /** The samples of {@code name} (exact sample name). */
    public List<Sample> samples(String name) {
        return samples.stream().filter(s -> s.name().equals(name)).toList();
    }

    /** The one sample of {@code name} with exactly these labels (a subset match). */
    public double value(String name, Map<String, String> labels) {
        List<Sample> found = samples.stream().filter(s -> s.name().equals(name)
                && s.labels().entrySet().containsAll(labels.entrySet())).toList();
        if (found.size() != 1) {
            throw new AssertionError(found.size() + " samples of " + name + labels + ": " + found);
        }
        return found.getFirst().value();
    }
}
