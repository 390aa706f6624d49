package dev.attestmesh.perf.faults;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code attestmesh server --dev} as a separate JVM on this JVM's class path, on loopback ports, with its output in a
 * log file: started, waited for until {@code /health} answers, stopped with SIGTERM or killed with SIGKILL.
 */
final class ServerProcess {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final Process process;
    private final Path log;
    private final int grpcPort;
    private final int adminPort;

    private ServerProcess(Process process, Path log, int grpcPort, int adminPort) {
        this.process = process;
        this.log = log;
        this.grpcPort = grpcPort;
        this.adminPort = adminPort;
    }

    /** Starts a server on {@code data} with the mesh files of {@code dir} ({@link FaultMesh#writeFiles}). */
    static ServerProcess start(Path dir, Path data, int grpcPort, int adminPort, String name) throws IOException {
        Path log = dir.resolve(name + ".log");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "dev.attestmesh.cli.AttestMeshCli", "server", "--dev", "--data-dir", data.toString(),
                "--grpc-bind", "127.0.0.1", "--grpc-port", Integer.toString(grpcPort),
                "--admin-port", Integer.toString(adminPort),
                "--policy-file", dir.resolve("policies.yaml").toString(),
                "--registration-file", dir.resolve("registrations.yaml").toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("ATTESTMESH_CA_KEY", "fault-suite-throwaway-ca-key");
        pb.environment().remove("ATTESTMESH_ADMIN_TOKEN");
        pb.environment().remove("ATTESTMESH_DATABASE_URL");
        pb.environment().remove("ATTESTMESH_CONFIG");
        return new ServerProcess(pb.start(), log, grpcPort, adminPort);
    }

    String grpcTarget() {
        return "127.0.0.1:" + grpcPort;
    }

    /** Waits until {@code /health} answers 200; throws with the log's tail when it does not within {@code limit}. */
    void awaitHealthy(Duration limit) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("server exited " + process.exitValue() + " while starting:\n" + tail());
            }
            try {
                HttpResponse<Void> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort
                        + "/health")).timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // Not listening yet.
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("server not healthy within " + limit + ":\n" + tail());
    }

    /** SIGKILL: no shutdown runs. Waits (at most 10 s) until the process is gone. */
    void kill9() throws InterruptedException {
        process.toHandle().destroyForcibly();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the server survived SIGKILL for 10 s");
        }
    }

    /** SIGTERM; returns the exit status, killing the process if it has not exited within 15 s. */
    int sigterm() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(15, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
            throw new IllegalStateException("server still running 15 s after SIGTERM:\n" + tail());
        }
        return process.exitValue();
    }

    /** Kills the process if it is still running (cleanup). */
    void destroy() throws InterruptedException {
        if (process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    String tail() {
        try {
            String s = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
            return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
        } catch (IOException e) {
            return "(cannot read " + log + ")";
        }
    }
}
