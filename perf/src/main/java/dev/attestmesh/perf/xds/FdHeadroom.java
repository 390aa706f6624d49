package dev.attestmesh.perf.xds;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Whether a process can open the sockets a load needs, checked before it opens any: its open-files limit (soft; the
 * JVM raises it to the hard limit at start on Linux) from {@code /proc/<pid>/limits} against the descriptors it
 * already holds ({@code /proc/<pid>/fd}) plus what the load will add and a margin for the JVM's own jars, epoll
 * descriptors and pipes. The harness used to find out by failing: streams answered UNKNOWN, and at the end the JVM
 * could not open its own jar ({@code NoClassDefFoundError}). Now it refuses first, naming the numbers.
 *
 * @param limit the process's open-files limit
 * @param open descriptors open now
 * @param needed descriptors the load will open
 * @param margin descriptors kept free for the JVM itself
 */
public record FdHeadroom(long limit, long open, long needed, long margin) {
    /** Descriptors kept free besides the sockets: class-path jars opened lazily, epoll, pipes, log files. */
    public static final long DEFAULT_MARGIN = 512;
    private static final Pattern OPEN_FILES = Pattern.compile("(?m)^Max open files\\s+(\\d+|unlimited)\\s+(\\d+|unlimited)");

    /** Whether {@code open + needed + margin} fits under the limit. */
    public boolean sufficient() {
        return open + needed + margin <= limit;
    }

    /** Why the load cannot start here, with the numbers and what to do; empty when it fits. */
    public Optional<String> refusal(String who) {
        if (sufficient()) {
            return Optional.empty();
        }
        return Optional.of(String.format(java.util.Locale.ROOT, "%s: not enough file descriptors: open-files limit %d, %d"
                + " already open, %d needed for the sockets plus %d kept free for the JVM (%d in all, %d short); "
                + "raise the limit (ulimit -n, up to the hard limit ulimit -Hn) or spread the nodes over more processes",
                who, limit, open, needed, margin, open + needed + margin, open + needed + margin - limit));
    }

    /** The headroom of process {@code pid} (this process: {@link ProcessHandle#current()}) for {@code needed} more. */
    public static FdHeadroom of(long pid, long needed) throws IOException {
        Path proc = Path.of("/proc", Long.toString(pid));
        long limit = parseSoftLimit(Files.readString(proc.resolve("limits"))).orElseThrow(() ->
                new IOException("no 'Max open files' line in /proc/" + pid + "/limits"));
        long open;
        try (Stream<Path> fds = Files.list(proc.resolve("fd"))) {
            open = fds.count();
        }
        return new FdHeadroom(limit, open, needed, DEFAULT_MARGIN);
    }

    /** The soft open-files limit in a {@code /proc/<pid>/limits} text; {@code unlimited} is {@link Long#MAX_VALUE}. */
    static OptionalLong parseSoftLimit(String limits) {
        Matcher m = OPEN_FILES.matcher(limits);
        if (!m.find()) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(m.group(1).equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(m.group(1)));
    }
}
