package dev.attestmesh.perf.xds;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What another JVM holds on its heap after a full GC, taken from outside with {@code jcmd <pid> GC.class_histogram}
 * (which collects first and counts only live objects), plus the process's resident set from {@code
 * /proc/<pid>/status} (which includes Netty's direct buffers, metaspace and thread stacks, off the heap).
 *
 * @param liveBytes bytes of live objects (the histogram's total)
 * @param rssBytes resident set size of the process
 * @param classes per class: instances and bytes
 */
public record HeapCensus(long liveBytes, long rssBytes, Map<String, long[]> classes) {
    private static final Pattern ROW = Pattern.compile("(?m)^\\s*\\d+:\\s+(\\d+)\\s+(\\d+)\\s+(\\S+)");
    private static final Pattern TOTAL = Pattern.compile("(?m)^Total\\s+(\\d+)\\s+(\\d+)");
    private static final Pattern RSS = Pattern.compile("(?m)^VmRSS:\\s+(\\d+) kB");

    /** Runs {@code jcmd} against {@code pid} (at most 120 s). */
    public static HeapCensus of(long pid) throws IOException, InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), "GC.class_histogram")
                .redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException("jcmd " + pid + " GC.class_histogram failed: "
                    + new String(out, StandardCharsets.UTF_8));
        }
        String status = Files.readString(Path.of("/proc", Long.toString(pid), "status"));
        Matcher rss = RSS.matcher(status);
        return parse(new String(out, StandardCharsets.UTF_8), rss.find() ? Long.parseLong(rss.group(1)) * 1024 : 0);
    }

    static HeapCensus parse(String histogram, long rssBytes) {
        Map<String, long[]> classes = new LinkedHashMap<>();
        Matcher m = ROW.matcher(histogram);
        while (m.find()) {
            classes.merge(m.group(3), new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))},
                    (a, b) -> new long[] {a[0] + b[0], a[1] + b[1]});
        }
        Matcher t = TOTAL.matcher(histogram);
        if (!t.find()) {
            throw new IllegalArgumentException("no Total line in the class histogram");
        }
        return new HeapCensus(Long.parseLong(t.group(2)), rssBytes, classes);
    }

    /** Instances of {@code className} (0 when absent). */
    public long instances(String className) {
        long[] v = classes.get(className);
        return v == null ? 0 : v[0];
    }

    /** Instances of every class in {@code packagePrefix} whose simple name ends with {@code suffix}. */
    public long instancesMatching(String packagePrefix, String suffix) {
        long n = 0;
        for (Map.Entry<String, long[]> e : classes.entrySet()) {
            String c = e.getKey();
            if (c.startsWith(packagePrefix) && c.endsWith(suffix)) {
                n += e.getValue()[0];
            }
        }
        return n;
    }

    /** The {@code n} classes whose bytes grew most from {@code before} to this census: name, instances, bytes. */
    public List<Growth> largestGrowth(HeapCensus before, int n) {
        List<Growth> out = new ArrayList<>();
        classes.forEach((name, v) -> {
            long[] b = before.classes.getOrDefault(name, new long[2]);
            out.add(new Growth(name, v[0] - b[0], v[1] - b[1]));
        });
        out.sort(Comparator.comparingLong(Growth::bytes).reversed());
        return out.subList(0, Math.min(n, out.size()));
    }

    /** How one class's live instances and bytes changed. */
    public record Growth(String className, long instances, long bytes) {}
}
