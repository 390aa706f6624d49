package dev.attestmesh.perf.issuance;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

/**
 * How the machine's CPU was used during a timed window: the share this process had and the share
 * the whole machine was busy, both as fractions of all cores. On a shared build machine, the
 * difference is what other processes took from the measurement; a figure taken while it is large
 * understates the control plane.
 *
 * @param processShare CPU time of this process (server and clients) over wall time times cores
 * @param machineBusy non-idle time of the whole machine over wall time times cores, from
 *     {@code /proc/stat}; NaN where that file does not exist
 */
public record CpuShare(double processShare, double machineBusy) {

    /** The share other processes took: {@code machineBusy - processShare}, at least 0. */
    public double others() {
        return Double.isNaN(machineBusy) ? Double.NaN : Math.max(0, machineBusy - processShare);
    }

    record Sample(long wallNanos, long processCpuNanos, long machineBusyTicks, long machineTotalTicks) {}

    static Sample sample() {
        long cpu = ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getProcessCpuTime() : -1;
        Optional<MachineTicks> m = machine(); // not Linux: the machine's share stays unknown
        return new Sample(System.nanoTime(), cpu, m.map(MachineTicks::busy).orElse(-1L),
                m.map(MachineTicks::total).orElse(-1L));
    }

    /** The whole machine's CPU time since boot, all cores, in clock ticks: busy (not idle nor waiting on I/O) and total. */
    public record MachineTicks(long busy, long total) {}

    /** The machine's ticks from {@code /proc/stat}; empty where it cannot be read (not Linux). */
    public static Optional<MachineTicks> machine() {
        try {
            // First line: "cpu  user nice system idle iowait irq softirq steal ..." in clock ticks.
            String[] f = Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split("\\s+");
            long[] v = Arrays.stream(f, 1, Math.min(f.length, 9)).mapToLong(Long::parseLong).toArray();
            long total = Arrays.stream(v).sum();
            return Optional.of(new MachineTicks(total - v[3] - (v.length > 4 ? v[4] : 0), total));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    static CpuShare between(Sample a, Sample b) {
        int cores = Runtime.getRuntime().availableProcessors();
        double wall = (b.wallNanos() - a.wallNanos()) * (double) cores;
        double process = a.processCpuNanos() < 0 ? Double.NaN : (b.processCpuNanos() - a.processCpuNanos()) / wall;
        double machine = a.machineTotalTicks() < 0 || b.machineTotalTicks() == a.machineTotalTicks() ? Double.NaN
                : (b.machineBusyTicks() - a.machineBusyTicks()) / (double) (b.machineTotalTicks() - a.machineTotalTicks());
        return new CpuShare(process, machine);
    }
}
