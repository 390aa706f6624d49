package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The shutdown watchdog as it acts on a real process ({@link Probe} in a child JVM): it halts a stop that overruns its
 * deadline, and it lets a JVM that writes an AOT cache at exit finish that, once the command has stopped, and only
 * then. The JVM's own work at exit is stood in for by a sleep after {@link ProcessShutdown#stopped()}.
 */
class ProcessShutdownTest {
    /** The probe's deadline: 1 s; its stand-in for the JVM's work at exit: 2.5 s. */
    @Test
    void aJvmWritingAnAotCacheMayOutliveTheDeadlineOnceTheCommandHasStopped() throws Exception {
        Result r = probe("aot", "stopped");
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("now writes its AOT cache to /tmp/probe.aot"), r.output());
        assertFalse(r.output().contains("halting"), r.output());
    }

    @Test
    void withoutAnAotCacheTheExitKeepsTheDeadline() throws Exception {
        Result r = probe("none", "stopped");
        assertEquals(1, r.exit(), r.output());
        assertTrue(r.output().contains("probe: did not stop within 1 s of test; halting"), r.output());
    }

    @Test
    void aStopThatHangsIsHaltedEvenWhenAnAotCacheIsToBeWritten() throws Exception {
        // The allowance starts only when the command says it has stopped: its own steps keep the deadline
        Result r = probe("aot", "hangs");
        assertEquals(1, r.exit(), r.output());
        assertTrue(r.output().contains("halting"), r.output());
    }

    @Test
    void thisJvmWritesNoAotCache() {
        // The test JVM runs without -XX:AOTCacheOutput: the option reads as unset (not an error)
        assertEquals(Optional.empty(), ProcessShutdown.aotCacheOutput());
    }

    private record Result(int exit, String output) {}

    private static Result probe(String aot, String how) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), Probe.class.getName(), aot, how)
                .redirectErrorStream(true).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the probe did not exit within 30 s");
        }
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    /** A command that is asked to stop, stops (or hangs), and then takes 2.5 s to exit; argument 1 {@code aot|none}. */
    public static final class Probe {
        public static void main(String[] args) throws InterruptedException {
            Optional<String> cache = args[0].equals("aot") ? Optional.of("/tmp/probe.aot") : Optional.empty();
            ProcessShutdown shutdown = ProcessShutdown.install("probe", Duration.ofSeconds(1), () -> cache);
            shutdown.requestStop("test");
            if (args[1].equals("stopped")) {
                shutdown.stopped();
            }
            Thread.sleep(2_500); // the JVM's work at exit, or a step of the command that hangs
            System.exit(0);
        }
    }
}
