package dev.attestmesh.perf.faults;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A PostgreSQL cluster of its own for the fault suite, which stops and starts it: {@code initdb} into a new
 * temporary directory, served on a free loopback port ({@code listen_addresses=127.0.0.1}, its Unix socket in that
 * directory), with the binaries of Debian's {@code postgresql} package ({@code /usr/lib/postgresql/<v>/bin}, as
 * {@code .ci/postgres} uses). As root the server runs as the {@code postgres} system user (it refuses root).
 * Connections from 127.0.0.1 are trusted without a password: the cluster exists only for the run, holds only test
 * data, and is removed by {@link #close()}. Every command has a time limit.
 */
public final class ThrowawayPostgres implements AutoCloseable {
    private static final long COMMAND_SECONDS = 90;

    private final Path bin;
    private final Path dir;
    private final Path data;
    private final int port;
    private final boolean asRoot;

    private ThrowawayPostgres(Path bin, Path dir, int port, boolean asRoot) {
        this.bin = bin;
        this.dir = dir;
        this.data = dir.resolve("data");
        this.port = port;
        this.asRoot = asRoot;
    }

    /** The newest installed server binaries with initdb and pg_ctl, empty when PostgreSQL is not installed. */
    public static Optional<Path> binaries() {
        Path root = Path.of("/usr/lib/postgresql");
        if (!Files.isDirectory(root)) {
            return Optional.empty();
        }
        try (Stream<Path> versions = Files.list(root)) {
            return versions.map(v -> v.resolve("bin"))
                    .filter(b -> Files.isExecutable(b.resolve("initdb")) && Files.isExecutable(b.resolve("pg_ctl")))
                    .max(Comparator.comparingInt(b -> version(b.getParent().getFileName().toString())));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * Why a cluster cannot be started here, empty when it can: the binaries are missing, or this runs as root and
     * there is no {@code postgres} user to run the server as (the package creates one).
     */
    public static Optional<String> unavailableReason() {
        if (binaries().isEmpty()) {
            return Optional.of("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (install Debian's "
                    + "postgresql package)");
        }
        if ("root".equals(System.getProperty("user.name"))) {
            try {
                boolean user = Files.readAllLines(Path.of("/etc/passwd")).stream().anyMatch(l -> l.startsWith("postgres:"));
                if (!user) {
                    return Optional.of("running as root without a 'postgres' user to run the server as");
                }
            } catch (IOException e) {
                return Optional.of("cannot read /etc/passwd: " + e.getMessage());
            }
        }
        return Optional.empty();
    }

    private static int version(String name) {
        return name.matches("[0-9]{1,4}") ? Integer.parseInt(name) : -1;
    }

    /**
     * Creates and starts a cluster.
     *
     * @throws IllegalStateException when the binaries are missing (see {@link #binaries()}) or a command fails
     */
    public static ThrowawayPostgres start() throws IOException, InterruptedException {
        Path bin = binaries().orElseThrow(() -> new IllegalStateException("PostgreSQL server binaries not found under "
                + "/usr/lib/postgresql/*/bin (install Debian's postgresql package)"));
        boolean root = "root".equals(System.getProperty("user.name"));
        Path dir = Files.createTempDirectory("attestmesh-faults-pg");
        ThrowawayPostgres pg = new ThrowawayPostgres(bin, dir, freePort(), root);
        try {
            if (root) {
                pg.run(List.of("chown", "postgres:", dir.toString()), false);
            }
            pg.run(List.of(bin.resolve("initdb").toString(), "-D", pg.data.toString(), "-U", "postgres",
                    "--auth-local=trust", "--auth-host=trust", "-E", "UTF8", "--locale=C.UTF-8"), true);
            pg.startServer();
            return pg;
        } catch (IOException | InterruptedException | RuntimeException e) {
            pg.close();
            throw e;
        }
    }

    /** JDBC URL of the cluster's {@code postgres} database as user {@code postgres}. */
    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=postgres";
    }

    public int port() {
        return port;
    }

    /** Stops the server at once ({@code pg_ctl stop -m fast}: open sessions are ended). */
    public void stopServer() throws IOException, InterruptedException {
        run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "fast", "-w", "-t", "60", "stop"),
                true);
    }

    /** Starts the server on its port and waits until it accepts connections. */
    public void startServer() throws IOException, InterruptedException {
        run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", dir.resolve("server.log").toString(),
                "-w", "-t", "60", "start", "-o", "-c listen_addresses=127.0.0.1 -p " + port + " -k " + dir
                        + " -c max_connections=100 -c fsync=off"), true);
    }

    @Override
    public void close() {
        try {
            if (Files.exists(data.resolve("postmaster.pid"))) {
                stopServer();
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            // Best effort; the directory is removed below either way.
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // A temporary directory left behind costs only space.
        }
    }

    private void run(List<String> command, boolean asServerUser) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        if (asServerUser && asRoot) {
            cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        cmd.addAll(command);
        Path out = Files.createTempFile("attestmesh-pg-cmd", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
            if (!p.waitFor(COMMAND_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " did not finish within " + COMMAND_SECONDS
                        + " s");
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed (" + p.exitValue() + "): "
                        + Files.readString(out, StandardCharsets.UTF_8).strip());
            }
        } finally {
            Files.deleteIfExists(out);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
