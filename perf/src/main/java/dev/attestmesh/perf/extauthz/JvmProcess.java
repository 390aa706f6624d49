package dev.attestmesh.perf.extauthz;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One of the project's commands ({@code attestmesh server}, {@code attestmesh authz}, {@code attestmesh ca ...}) as
 * its own JVM, run as {@code ./attestmesh} runs it: the CLI's main class on this JVM's class path (the jars {@code
 * perf/run} built), with the flags the images pass, output in a log file. Nothing of this machine's {@code
 * ATTESTMESH_*} environment leaks in.
 */
public final class JvmProcess {
    /** The CLI's main class, as the control-plane and ext-authz images' entrypoint runs it. */
    public static final String CLI = "dev.attestmesh.cli.AttestMeshCli";

    private final String name;
    private final Process process;
    private final Path log;

    private JvmProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    /** Starts {@code attestmesh <args>} with {@code jvmOptions} (heap, GC, GC log) and {@code env} added. */
    public static JvmProcess start(String name, Path dir, List<String> jvmOptions, List<String> args,
            Map<String, String> env) throws IOException {
        Path log = dir.resolve(name + ".log");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(jvmOptions);
        // As the images' Jib jvmFlags and ./attestmesh pass them
        cmd.addAll(List.of("-XX:+ExitOnOutOfMemoryError", "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "-cp", System.getProperty("java.class.path"), CLI));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("ATTESTMESH_") || k.equals("JAVA_TOOL_OPTIONS"));
        pb.environment().putAll(env);
        return new JvmProcess(name, pb.start(), log);
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Waits until the log has a line matching {@code pattern}; returns the match. Throws with the log's tail if not. */
    public Matcher awaitLog(Pattern pattern, Duration limit) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            Matcher m = pattern.matcher(read());
            if (m.find()) {
                return m;
            }
            if (!process.isAlive()) {
                throw new IllegalStateException(name + " exited " + process.exitValue() + ":\n" + tail());
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException(name + ": no '" + pattern + "' within " + limit + ":\n" + tail());
    }

    /** Waits for a command that ends by itself; throws with the log's tail unless it exits 0 within {@code limit}. */
    public void awaitSuccess(Duration limit) throws InterruptedException {
        if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException(name + " did not finish within " + limit + ":\n" + tail());
        }
        if (process.exitValue() != 0) {
            throw new IllegalStateException(name + " exited " + process.exitValue() + ":\n" + tail());
        }
    }

    /** SIGTERM, then waits (at most 20 s, then SIGKILL) and returns the whole log. */
    public String stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        return read();
    }

    /** Kills the process if still running (cleanup). */
    public void destroy() throws InterruptedException {
        if (process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    public String read() {
        try {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "";
        }
    }

    public String tail() {
        String s = read();
        return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
    }
}
