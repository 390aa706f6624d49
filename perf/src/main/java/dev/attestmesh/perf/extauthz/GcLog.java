package dev.attestmesh.perf.extauthz;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The server's stop-the-world time in a window, read from its unified JVM log written with {@code
 * -Xlog:gc,safepoint:file=<path>:timemillis} ({@link #jvmOption}): GC pauses (the {@code gc} lines ending in a pause
 * time, e.g. G1's "Pause Young ... 1.234ms") and every safepoint (the {@code safepoint} lines' total, which includes GC
 * pauses and also the time to reach the safepoint and non-GC operations). Lines carry milliseconds since the epoch,
 * the clock of h2load's request log, so a window is a phase's first request to its last response.
 */
public final class GcLog {
    private static final Pattern GC_PAUSE = Pattern.compile("^\\[(\\d+)ms\\].*\\bPause\\b.* (\\d+\\.\\d+)ms$");
    private static final Pattern SAFEPOINT = Pattern.compile("^\\[(\\d+)ms\\].*Safepoint \".*Total: (\\d+) ns");

    private GcLog() {}

    /** The JVM option that writes the log this class reads. */
    public static String jvmOption(Path file) {
        return "-Xlog:gc,safepoint:file=" + file + ":timemillis";
    }

    /**
     * Stop-the-world time in a window.
     *
     * @param gcPauses GC pauses logged in the window
     * @param gcPauseTotalMs their sum
     * @param gcPauseMaxMs the longest
     * @param safepoints safepoints (all causes) in the window
     * @param safepointTotalMs their total time, reaching the safepoint included
     * @param safepointMaxMs the longest
     */
    public record Pauses(int gcPauses, double gcPauseTotalMs, double gcPauseMaxMs, int safepoints,
            double safepointTotalMs, double safepointMaxMs) {}

    /** The pauses that ended between {@code fromMillis} and {@code toMillis} (epoch milliseconds), inclusive. */
    public static Pauses in(Path file, long fromMillis, long toMillis) throws IOException {
        List<String> lines = Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
        int n = 0;
        double total = 0;
        double max = 0;
        int sp = 0;
        double spTotal = 0;
        double spMax = 0;
        for (String line : lines) {
            Matcher g = GC_PAUSE.matcher(line);
            if (g.find()) {
                long t = Long.parseLong(g.group(1));
                if (t >= fromMillis && t <= toMillis) {
                    double ms = Double.parseDouble(g.group(2));
                    n++;
                    total += ms;
                    max = Math.max(max, ms);
                }
                continue;
            }
            Matcher s = SAFEPOINT.matcher(line);
            if (s.find()) {
                long t = Long.parseLong(s.group(1));
                if (t >= fromMillis && t <= toMillis) {
                    double ms = Long.parseLong(s.group(2)) / 1e6;
                    sp++;
                    spTotal += ms;
                    spMax = Math.max(spMax, ms);
                }
            }
        }
        return new Pauses(n, total, max, sp, spTotal, spMax);
    }
}
