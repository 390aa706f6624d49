package dev.attestmesh.perf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ThreadCpuTest {
    /** A task's stat line as Linux writes it: utime (field 14) 50 and stime (field 15) 7 ticks. */
    private static String stat(String name) {
        return "4242 (" + name + ") S 1 4242 4242 0 -1 4194368 512 0 0 0 50 7 0 0 20 0 31 0 1234 0 0";
    }

    @Test
    void readsTheNameAndTheTicksOfAStatLine() {
        assertEquals("C2 CompilerThre", ThreadCpu.name(stat("C2 CompilerThre")));
        assertEquals(57, ThreadCpu.ticks(stat("C2 CompilerThre")));
        // A thread may name itself with spaces and parentheses: the fields are counted after the last ')'
        String odd = stat("evil) S 1 2 3 (x");
        assertEquals("evil) S 1 2 3 (x", ThreadCpu.name(odd));
        assertEquals(57, ThreadCpu.ticks(odd));
    }

    @Test
    void namesHotSpotsCompilerAndCollectorThreads() {
        assertEquals(ThreadCpu.Kind.JIT, ThreadCpu.kind("C1 CompilerThre"));
        assertEquals(ThreadCpu.Kind.JIT, ThreadCpu.kind("C2 CompilerThre"));
        assertEquals(ThreadCpu.Kind.GC, ThreadCpu.kind("GC Thread#1"));
        assertEquals(ThreadCpu.Kind.GC, ThreadCpu.kind("G1 Conc#0"));
        assertEquals(ThreadCpu.Kind.GC, ThreadCpu.kind("G1 Refine#0"));
        assertEquals(ThreadCpu.Kind.OTHER, ThreadCpu.kind("grpc-default-ex"));
        assertEquals(ThreadCpu.Kind.OTHER, ThreadCpu.kind("H2-serialization"));
    }

    @Test
    void splitsAWindowIntoSharesOfTheMachine() {
        // 1,000 machine ticks in the window (e.g. 2 cores for 5 s at 100 Hz): 900 busy
        var a = new ThreadCpu.Reading(0, new ThreadCpu.Process(1_000, 100, 10), new ThreadCpu.Process(500, 50, 0), 10_000, 20_000);
        var b = new ThreadCpu.Reading(5, new ThreadCpu.Process(1_600, 300, 60), new ThreadCpu.Process(700, 80, 0), 10_900, 21_000);
        ThreadCpu.Split s = ThreadCpu.between(a, b);
        assertEquals(0.35, s.serverWork(), 1e-9); // (600 - 200 - 50) / 1000
        assertEquals(0.20, s.serverJit(), 1e-9);
        assertEquals(0.05, s.serverGc(), 1e-9);
        assertEquals(0.17, s.generatorWork(), 1e-9);
        assertEquals(0.03, s.generatorJit(), 1e-9);
        assertEquals(0.10, s.idle(), 1e-9);
        assertEquals(a, ThreadCpu.nearest(List.of(a, b), 2).orElseThrow());
        assertEquals(b, ThreadCpu.nearest(List.of(a, b), 4).orElseThrow());
    }

    @Test
    void readsThisProcessFromProc() {
        assumeTrue(Files.isDirectory(Path.of("/proc/self/task")), "needs Linux /proc");
        long pid = ProcessHandle.current().pid();
        ThreadCpu.Reading r = ThreadCpu.read(pid, pid).orElseThrow();
        assertTrue(r.server().total() >= r.server().jit() + r.server().gc(), r.toString());
        assertTrue(r.machineTotal() > r.machineBusy(), r.toString());
        assertTrue(ThreadCpu.read(Long.MAX_VALUE, pid).isEmpty(), "a process that does not exist reads as empty");
    }
}
