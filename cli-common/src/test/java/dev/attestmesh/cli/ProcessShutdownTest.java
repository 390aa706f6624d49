package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    /**
     * The real thing: a JVM started with {@code -XX:AOTCacheOutput} (its class path all jars, as the JDK requires)
     * stops with a 200 ms deadline and then assembles its cache in a child JVM, which takes longer than that (about
     * 1 s here). It exits 0 without the watchdog firing, and a JVM started with {@code -XX:AOTMode=on} on that cache
     * (which refuses a cache it cannot use) runs.
     */
    @Test
    void aJvmTrainingAnAotCacheExitsZeroWithAUsableCache(@TempDir Path dir) throws Exception {
        Path jar = dir.resolve("probe.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            for (Class<?> c : List.of(ProcessShutdown.class, Probe.class)) { // main and test classes: two roots
                Path root = Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
                try (Stream<Path> files = Files.walk(root)) {
                    for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                        out.putNextEntry(new JarEntry(root.relativize(f).toString().replace('\\', '/')));
                        Files.copy(f, out);
                        out.closeEntry();
                    }
                }
            }
        }
        List<String> cp = new ArrayList<>(List.of(jar.toString()));
        for (Class<?> c : List.of(org.slf4j.Logger.class, ch.qos.logback.classic.Logger.class,
                ch.qos.logback.core.Context.class)) {
            cp.add(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
        }
        String classPath = String.join(java.io.File.pathSeparator, cp);
        Path cache = dir.resolve("probe.aot");

        Result training = run(List.of("-XX:AOTCacheOutput=" + cache, "-cp", classPath, Probe.class.getName(), "jvm",
                "stopped", "200", "0"));
        assertEquals(0, training.exit(), training.output());
        assertTrue(training.output().contains("now writes its AOT cache to " + cache), training.output());
        // Without the allowance the watchdog fired during the cache's assembly: "did not stop ...; halting", and
        // the JVM exited 1 (mostly) once the cache was written
        assertFalse(training.output().contains("halting"), training.output());
        assertTrue(Files.size(cache) > 0, "no cache at " + cache);

        Result using = run(List.of("-XX:AOTMode=on", "-XX:AOTCache=" + cache, "-cp", classPath, Probe.class.getName(),
                "none", "stopped", "1000", "0"));
        assertEquals(0, using.exit(), "the JVM could not use the cache: " + using.output());
    }

    /**
     * A jlinked runtime without the jdk.management module (as docs/performance.md jlinks the agent's) cannot say
     * whether it writes a cache: {@link ProcessShutdown#stopped()} must not throw there (a NoClassDefFoundError out of
     * it would turn a clean stop into a failed one), and the process exits 0.
     */
    @Test
    void aRuntimeWithoutJdkManagementStillStopsCleanly() throws Exception {
        Result r = run(List.of("--limit-modules", "java.base,java.logging,java.naming,java.xml,jdk.unsupported", "-cp",
                System.getProperty("java.class.path"), Probe.class.getName(), "jvm", "stopped", "1000", "0"));
        assertEquals(0, r.exit(), r.output());
        assertFalse(r.output().contains("Exception") || r.output().contains("Error"), r.output());
    }

    @Test
    void thisJvmWritesNoAotCache() {
        // The test JVM runs without -XX:AOTCacheOutput: the option reads as unset (not an error)
        assertEquals(Optional.empty(), ProcessShutdown.aotCacheOutput());
    }

    private record Result(int exit, String output) {}

    private static Result probe(String aot, String how) throws IOException, InterruptedException {
        return run(List.of("-cp", System.getProperty("java.class.path"), Probe.class.getName(), aot, how));
    }

    private static Result run(List<String> args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(args);
        Path output = Files.createTempFile("probe", ".log"); // a file, not a pipe: the child never blocks on its output
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile());
            pb.environment().remove("JAVA_TOOL_OPTIONS");
            Process p = pb.start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("the probe did not exit within 60 s: " + Files.readString(output));
            }
            return new Result(p.exitValue(), Files.readString(output, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(output);
        }
    }

    /**
     * A command that is asked to stop, stops (or hangs), and then takes a while to exit. Arguments: where the AOT cache
     * goes ({@code aot}: a made-up path, {@code none}, {@code jvm}: what the JVM's options say), {@code stopped} or
     * {@code hangs}, the deadline in ms (1,000), the time it then takes before {@code System.exit(0)} in ms (2,500).
     */
    public static final class Probe {
        public static void main(String[] args) throws InterruptedException {
            Optional<String> cache = args[0].equals("aot") ? Optional.of("/tmp/probe.aot") : Optional.empty();
            Duration deadline = Duration.ofMillis(args.length > 2 ? Long.parseLong(args[2]) : 1_000);
            ProcessShutdown shutdown = args[0].equals("jvm") ? ProcessShutdown.install("probe", deadline)
                    : ProcessShutdown.install("probe", deadline, () -> cache);
            shutdown.requestStop("test");
            if (args[1].equals("stopped")) {
                shutdown.stopped();
            }
            Thread.sleep(args.length > 3 ? Long.parseLong(args[3]) : 2_500); // the JVM's work at exit, or a hang
            System.exit(0);
        }
    }
}
