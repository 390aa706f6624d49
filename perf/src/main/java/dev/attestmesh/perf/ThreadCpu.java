package dev.attestmesh.perf;

import dev.attestmesh.perf.issuance.CpuShare;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Where two JVMs' CPU time went during a window: the JIT's compiler threads, the collector's threads and the rest
 * of each process, and the machine's idle time, each as a share of all the machine's cores. Read from Linux's
 * {@code /proc} (no agent in the measured JVM): {@code /proc/PID/stat} for a process's total (which keeps the time of
 * threads that have ended), {@code /proc/PID/task/TID/stat} for its compiler and collector threads (named {@code C1
 * CompilerThre}, {@code C2 CompilerThre}, {@code GC Thread#N}, {@code G1 ...} by HotSpot), and {@code /proc/stat}
 * for the machine. All in clock ticks, so the shares need no tick rate: the machine's total ticks over a window are
 * its cores times the window.
 *
 * <p>Used by {@link ColdStartHarness} to show how much of the two cores the measured server's own work got while
 * its JIT and the load generator took the rest. Where {@code /proc} is missing (not Linux), {@link #read} is empty
 * and the harness prints no split.
 */
final class ThreadCpu {
    /** Ticks of one process: its total, its compiler threads', its collector threads'. */
    record Process(long total, long jit, long gc) {
        Process minus(Process o) {
            return new Process(total - o.total, jit - o.jit, gc - o.gc);
        }
    }

    /** One reading of a server process, a load-generating process and the machine. */
    record Reading(long nanos, Process server, Process generator, long machineBusy, long machineTotal) {}

    /**
     * A window's split, each a share of the machine's cores over the window: the server's work outside its JIT and
     * collector, its JIT, its collector, the generator's work outside its JIT, the generator's JIT (its collector
     * counted with its work), and the machine idle. The shares of processes other than these two are what is left.
     */
    record Split(double serverWork, double serverJit, double serverGc, double generatorWork, double generatorJit,
            double idle) {
        String describe() {
            return String.format(Locale.ROOT, "server work %.0f%%, server JIT %.0f%%, server GC %.0f%%, generator %.0f%%,"
                    + " generator JIT %.0f%%, idle %.0f%%", 100 * serverWork, 100 * serverJit, 100 * serverGc,
                    100 * generatorWork, 100 * generatorJit, 100 * idle);
        }
    }

    private ThreadCpu() {}

    /** Reads both processes and the machine now; empty where {@code /proc} cannot be read or a process has gone. */
    static Optional<Reading> read(long serverPid, long generatorPid) {
        try {
            Process server = process(serverPid);
            Process generator = process(generatorPid);
            return CpuShare.machine().map(m -> new Reading(System.nanoTime(), server, generator, m.busy(), m.total()));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** The split between two readings, {@code a} before {@code b}. */
    static Split between(Reading a, Reading b) {
        double machine = Math.max(1, b.machineTotal() - a.machineTotal());
        Process s = b.server().minus(a.server());
        Process g = b.generator().minus(a.generator());
        double idle = (machine - (b.machineBusy() - a.machineBusy())) / machine;
        return new Split((s.total() - s.jit() - s.gc()) / machine, s.jit() / machine, s.gc() / machine,
                (g.total() - g.jit()) / machine, g.jit() / machine, idle);
    }

    /** The reading of {@code readings} (in time order) closest to {@code nanos}; empty if there is none. */
    static Optional<Reading> nearest(List<Reading> readings, long nanos) {
        Reading best = null;
        for (Reading r : readings) {
            if (best == null || Math.abs(r.nanos() - nanos) < Math.abs(best.nanos() - nanos)) {
                best = r;
            }
        }
        return Optional.ofNullable(best);
    }

    static Process process(long pid) throws IOException {
        long total = ticks(Files.readString(Path.of("/proc", Long.toString(pid), "stat")));
        long jit = 0;
        long gc = 0;
        List<Path> tasks = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
            ds.forEach(tasks::add);
        }
        for (Path task : tasks) {
            String stat;
            try {
                stat = Files.readString(task.resolve("stat"));
            } catch (IOException e) {
                continue; // the thread ended between the listing and the read; its time stays in the total
            }
            switch (kind(name(stat))) {
                case JIT -> jit += ticks(stat);
                case GC -> gc += ticks(stat);
                case OTHER -> { }
            }
        }
        return new Process(total, jit, gc);
    }

    enum Kind { JIT, GC, OTHER }

    /** HotSpot's thread names: {@code C1 CompilerThre(ad0)}, {@code C2 CompilerThre}; {@code GC Thread#0}, {@code G1 ...}. */
    static Kind kind(String threadName) {
        if (threadName.startsWith("C1 CompilerThre") || threadName.startsWith("C2 CompilerThre")) {
            return Kind.JIT;
        }
        if (threadName.startsWith("GC Thread") || threadName.startsWith("G1 ")) {
            return Kind.GC;
        }
        return Kind.OTHER;
    }

    /** The name in a {@code stat} line: between the first '(' and the last ')' (a name may hold either). */
    static String name(String stat) {
        return stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    }

    /** utime + stime of a {@code stat} line: fields 14 and 15, counted after the name's closing ')'. */
    static long ticks(String stat) {
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
        // f[0] is field 3 (state), so field N is f[N - 3]
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }
}
