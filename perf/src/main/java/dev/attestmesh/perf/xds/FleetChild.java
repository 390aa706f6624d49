package dev.attestmesh.perf.xds;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The harness's side of one {@link FleetProcess}: a JVM on this JVM's class path, its {@code FLEET ...} lines read
 * from its standard output, its log (standard error) in a file, commands written to its standard input.
 */
final class FleetChild {
    private final String name;
    private final Process process;
    private final Path log;
    private final Writer commands;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

    private FleetChild(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
        this.commands = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        Thread.ofPlatform().daemon().name(name + "-out").start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String l;
                while ((l = r.readLine()) != null) {
                    if (l.startsWith(FleetProcess.PREFIX)) {
                        lines.add(l.substring(FleetProcess.PREFIX.length()));
                    }
                }
            } catch (IOException e) {
                // The process ended; await() reports it.
            }
        });
    }

    static FleetChild start(String name, Path dir, List<String> jvmOptions, String target, Path bundle, int first,
            int count, int concurrency) throws IOException {
        Path log = dir.resolve(name + ".log");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-cp",
                System.getProperty("java.class.path"), FleetProcess.class.getName(), target, bundle.toString(),
                Integer.toString(first), Integer.toString(count), Integer.toString(concurrency)));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(log.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("ATTESTMESH_") || k.equals("JAVA_TOOL_OPTIONS"));
        return new FleetChild(name, pb.start(), log);
    }

    String name() {
        return name;
    }

    long pid() {
        return process.pid();
    }

    /** Sends one command line. */
    void send(String command) throws IOException {
        commands.write(command + "\n");
        commands.flush();
    }

    /**
     * The next line, which must start with {@code word}: its remaining words. A {@code REFUSED} line, an exit or the
     * time limit throws with the reason and the log's tail.
     */
    String[] await(String word, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            String l = lines.poll(200, TimeUnit.MILLISECONDS);
            if (l != null) {
                if (l.startsWith("REFUSED ")) {
                    throw new IllegalStateException(l.substring("REFUSED ".length()));
                }
                if (l.startsWith(word + " ") || l.equals(word)) {
                    return l.substring(word.length()).trim().split(" ");
                }
                throw new IllegalStateException(name + ": expected " + word + ", got: " + l);
            }
            if (!process.isAlive() && lines.isEmpty()) {
                throw new IllegalStateException(name + " exited " + process.exitValue() + " while waiting for " + word
                        + ":\n" + tail());
            }
        }
        throw new IllegalStateException(name + ": no " + word + " within " + limit + ":\n" + tail());
    }

    /** Asks the process to close its streams and exit; kills it after 10 s. */
    void stop() throws InterruptedException {
        try {
            send("EXIT");
        } catch (IOException e) {
            // Already gone.
        }
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    String tail() {
        try {
            String s = java.nio.file.Files.readString(log, StandardCharsets.UTF_8);
            return s.length() > 3000 ? s.substring(s.length() - 3000) : s;
        } catch (IOException e) {
            return "(cannot read " + log + ")";
        }
    }
}
