package dev.attestmesh.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The three images built by {@code ./mvnw -Pimages package} (Jib, OCI tarballs), read back and run: config (user,
 * entrypoint, default arguments, environment, exposed ports, OCI labels), layers (the application's jars and classes
 * are there; the agent's image holds none of the control plane's libraries and the control plane's none of the
 * agent's code), and each entrypoint started as a process from the unpacked image (see {@link ImageProcess}): the
 * control plane really starts on a data directory, answers {@code /health} and exits 0 on SIGTERM.
 */
class ImagesIT {
    private static final String VERSION = System.getProperty("project.version");
    private static final Path SERVER_IMAGES = Path.of(System.getProperty("image.dir.xds-server"));
    private static final Path AGENT_IMAGES = Path.of(System.getProperty("image.dir.node-agent"));
    private static final List<String> JVM_FLAGS = List.of("-XX:MaxRAMPercentage=75.0", "-XX:InitialRAMPercentage=25.0",
            "-XX:+ExitOnOutOfMemoryError", "-Djava.io.tmpdir=/tmp", "--enable-native-access=ALL-UNNAMED",
            "--sun-misc-unsafe-memory-access=allow");
    /** Libraries of the control plane that must not be in the agent's image (file-name prefixes under app/libs/). */
    private static final List<String> NOT_IN_AGENT = List.of("micronaut-", "h2-", "flyway-", "postgresql-", "HikariCP-",
            "jackson-dataformat-yaml-", "snakeyaml-", "nimbus-jose-jwt-", "logback-", "xds-server-", "netty-",
            "micrometer-", "envoy-configs-", "ext-authz-");

    @TempDir
    Path dir;

    @Test
    void controlPlaneImageStartsAnswersHealthAndStopsOnSigterm() throws Exception {
        OciImage image = OciImage.read(SERVER_IMAGES.resolve("control-plane.tar"));
        assertEquals("attestmesh/control-plane:" + VERSION, image.refName);
        assertServerConfig(image, "dev.attestmesh.cli.AttestMeshCli", List.of("server"), Set.of("15010/tcp", "15014/tcp"),
                "attestmesh/control-plane");
        List<String> entries = image.allEntries();
        assertHas(entries, "app/classpath/attestmesh.jar");
        assertHasPrefix(entries, "app/libs/micronaut-http-server-netty-");
        assertHasPrefix(entries, "app/libs/h2-");
        assertHasPrefix(entries, "app/libs/cli-common-" + VERSION);
        assertFalse(entries.stream().anyMatch(e -> e.startsWith("app/libs/node-agent-")
                || e.startsWith("app/libs/slf4j-simple-")), "the control plane's image holds no agent code");

        Path root = dir.resolve("rootfs");
        image.unpack(root);
        Path data = dir.resolve("data");
        ImageProcess.prepareFor(image, dir, root, data);
        Path log = dir.resolve("server.log");
        // The arguments the chart passes start with the command; ports on loopback, picked by the server.
        ProcessBuilder pb = ImageProcess.command(image, root, List.of("server", "--data-dir", data.toString(),
                "--grpc-bind", "127.0.0.1", "--grpc-port", "0", "--admin-port", "0"));
        pb.environment().put("ATTESTMESH_CA_KEY", "image-test-ca-key");
        Process p = pb.redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            int admin = Integer.parseInt(awaitLog(p, log, Pattern.compile("admin API on http://127\\.0\\.0\\.1:(\\d+)"),
                    Duration.ofSeconds(120)).group(1));
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/health"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, health.statusCode(), health.body());
            assertTrue(Files.exists(data.resolve("ca-bundle.pem")), "the CA was written to the data directory");
            if (ImageProcess.runsAsImageUser()) {
                assertEquals(10001, (int) Files.getAttribute(data.resolve("ca-bundle.pem"), "unix:uid"),
                        "the server ran as uid 10001");
            }
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(15, TimeUnit.SECONDS), "exit after SIGTERM; log:\n" + Files.readString(log));
            assertEquals(0, p.exitValue(), Files.readString(log));
            assertTrue(Files.readString(log).contains("server stopped cleanly after SIGTERM"), Files.readString(log));
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void extAuthzImageRunsTheAuthzCommand() throws Exception {
        OciImage image = OciImage.read(SERVER_IMAGES.resolve("ext-authz.tar"));
        assertEquals("attestmesh/ext-authz:" + VERSION, image.refName);
        assertServerConfig(image, "dev.attestmesh.cli.AttestMeshCli", List.of("authz"), Set.of("9191/tcp"),
                "attestmesh/ext-authz");
        assertHas(image.allEntries(), "app/classpath/attestmesh.jar");

        Path root = dir.resolve("rootfs");
        image.unpack(root);
        ImageProcess.prepareFor(image, dir, root);
        Run help = run(image, root, List.of("authz", "--help"));
        assertEquals(0, help.status, help.output);
        assertTrue(help.output.contains("Usage: attestmesh authz") && help.output.contains("--control-plane"), help.output);
        // The default arguments (Cmd) select the authz command, which then asks for its required options.
        Run bare = run(image, root, null);
        assertEquals(2, bare.status, bare.output);
        assertTrue(bare.output.contains("Missing required option") && bare.output.contains("Usage: attestmesh authz"),
                bare.output);
    }

    @Test
    void nodeAgentImageIsSmallRunsAsIstiosUidAndRefusesWithoutATee() throws Exception {
        OciImage image = OciImage.read(AGENT_IMAGES.resolve("node-agent.tar"));
        assertEquals("attestmesh/node-agent:" + VERSION, image.refName);
        assertEquals("1337:1337", image.containerConfig().path("User").asText());
        assertEntrypoint(image, "dev.attestmesh.agent.cli.AgentMain");
        assertTrue(image.strings("Cmd").isEmpty(), "the chart passes the agent's options as the arguments");
        assertEquals(Set.of(), ports(image), "the agent serves SDS on a Unix socket, no TCP port");
        assertLabels(image, "attestmesh/node-agent");
        List<String> entries = image.allEntries();
        assertHas(entries, "app/classpath/attestmesh-agent.jar");
        assertHasPrefix(entries, "app/libs/slf4j-simple-");
        assertHasPrefix(entries, "app/libs/grpc-netty-shaded-");
        for (String e : entries) {
            if (e.startsWith("app/libs/")) {
                String jar = e.substring("app/libs/".length());
                for (String banned : NOT_IN_AGENT) {
                    assertFalse(jar.startsWith(banned), jar + " must not be in the agent's image");
                }
            }
        }
        assertEquals(List.of("app/classpath/attestmesh-agent.jar"),
                entries.stream().filter(e -> e.startsWith("app/classpath/") && e.endsWith(".jar")).toList(),
                "the agent's own jar is the only application jar");

        Path root = dir.resolve("rootfs");
        image.unpack(root);
        ImageProcess.prepareFor(image, dir, root);
        Run help = run(image, root, List.of("--help"));
        assertEquals(0, help.status, help.output);
        assertTrue(help.output.startsWith("Usage: attestmesh agent") && help.output.contains("--sds-socket"), help.output);
        // The jar's manifest is in the image: the version it reports is the project's.
        Run version = run(image, root, List.of("--version"));
        assertEquals(0, version.status, version.output);
        assertEquals("attestmesh agent " + VERSION, version.output.strip());

        for (String device : List.of("/sys/kernel/config/tsm/report", "/dev/attestation", "/dev/sev-guest", "/dev/tdx_guest")) {
            assumeFalse(Files.exists(Path.of(device)), "this machine has a TEE interface: " + device);
        }
        Run noTee = run(image, root, List.of("--control-plane", "127.0.0.1:1", "--ca-bundle", "/etc/attestmesh/ca-bundle.pem",
                "--node-id", "n1", "--no-sds"));
        assertEquals(1, noTee.status, noTee.output);
        assertTrue(noTee.output.contains("attestmesh agent: no usable TEE interface found"), noTee.output);
    }

    private static void assertServerConfig(OciImage image, String mainClass, List<String> cmd, Set<String> ports,
            String title) {
        assertEquals("10001:10001", image.containerConfig().path("User").asText());
        assertEntrypoint(image, mainClass);
        assertEquals(cmd, image.strings("Cmd"));
        assertEquals(new TreeSet<>(ports), ports(image));
        assertLabels(image, title);
    }

    private static void assertEntrypoint(OciImage image, String mainClass) {
        List<String> entrypoint = image.strings("Entrypoint");
        assertEquals("java", entrypoint.get(0), entrypoint.toString());
        assertEquals(JVM_FLAGS, entrypoint.subList(1, 1 + JVM_FLAGS.size()), entrypoint.toString());
        assertEquals(List.of("-cp", "@/app/jib-classpath-file", mainClass),
                entrypoint.subList(entrypoint.size() - 3, entrypoint.size()), entrypoint.toString());
        assertHas(image.allEntries(), "app/jib-classpath-file");
        Map<String, String> env = image.env();
        assertTrue(env.containsKey("PATH") && env.containsKey("JAVA_HOME"), "Env from the base image: " + env);
        String javaInImage = env.get("JAVA_HOME").replaceFirst("^/", "") + "/bin/java";
        assertHas(image.allEntries(), javaInImage);
        assertTrue(env.get("PATH").contains(env.get("JAVA_HOME") + "/bin"), env.toString());
    }

    private static void assertLabels(OciImage image, String title) {
        Map<String, String> labels = ImageProcess.labels(image);
        assertEquals(title, labels.get("org.opencontainers.image.title"), labels.toString());
        assertEquals(VERSION, labels.get("org.opencontainers.image.version"), labels.toString());
        assertEquals(System.getProperty("image.base"), labels.get("org.opencontainers.image.base.name"), labels.toString());
        for (String key : List.of("source", "revision", "licenses", "vendor", "description")) {
            assertFalse(labels.getOrDefault("org.opencontainers.image." + key, "").isBlank(), key + " label: " + labels);
        }
    }

    private static Set<String> ports(OciImage image) {
        Set<String> out = new TreeSet<>();
        image.containerConfig().path("ExposedPorts").fieldNames().forEachRemaining(out::add);
        return out;
    }

    private static void assertHas(List<String> entries, String path) {
        assertTrue(entries.contains(path), path + " in the image's layers");
    }

    private static void assertHasPrefix(List<String> entries, String prefix) {
        assertTrue(entries.stream().anyMatch(e -> e.startsWith(prefix)), prefix + "* in the image's layers");
    }

    private record Run(int status, String output) {}

    private Run run(OciImage image, Path root, List<String> args) throws Exception {
        Path log = Files.createTempFile(dir, "run", ".log");
        Process p = ImageProcess.command(image, root, args).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("still running after 60 s: " + Files.readString(log));
        }
        return new Run(p.exitValue(), Files.readString(log));
    }

    private static Matcher awaitLog(Process p, Path log, Pattern pattern, Duration limit) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            Matcher m = pattern.matcher(Files.readString(log));
            if (m.find()) {
                return m;
            }
            if (!p.isAlive()) {
                throw new AssertionError("exited " + p.exitValue() + " before logging " + pattern + ":\n" + Files.readString(log));
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no " + pattern + " within " + limit + ":\n" + Files.readString(log));
    }
}
