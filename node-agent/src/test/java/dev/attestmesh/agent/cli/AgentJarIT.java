package dev.attestmesh.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged agent ({@code target/attestmesh-agent.jar} with {@code target/lib/}) started as a real process with
 * {@code java -jar}, as {@code ./attestmesh agent} and the node-agent image start it; and its class path read back
 * from the jar's manifest and the lib folder: nothing of the control plane's stack is there.
 */
class AgentJarIT {
    /** File-name prefixes of libraries that must never reach the TEE. */
    static final List<String> FORBIDDEN = List.of("micronaut-", "h2-", "flyway-", "postgresql-", "HikariCP-",
            "jackson-dataformat-yaml-", "snakeyaml-", "nimbus-jose-jwt-", "logback-", "xds-server-", "netty-",
            "ext-authz-", "envoy-configs-", "micrometer-");
    private static final Path JAR = Path.of(System.getProperty("agent.jar", "target/attestmesh-agent.jar"));

    @TempDir
    Path dir;

    @Test
    void helpListsExactlyTheAgentOptions() throws Exception {
        Run r = run("--help");
        assertEquals(0, r.status, r.output);
        for (String option : List.of("--control-plane", "--ca-bundle", "--node-id", "--service-account-token-file",
                "--identity", "--tee", "--output", "--sim-measurement", "--once", "--sds-socket", "--no-sds",
                "--help", "--version")) {
            assertTrue(r.output.contains(option), option + " in:\n" + r.output);
        }
        assertTrue(r.output.startsWith("Usage: attestmesh agent"), r.output);
    }

    @Test
    void badArgumentsExitTwoNamingTheProblem() throws Exception {
        Run missing = run("--node-id", "n1");
        assertEquals(2, missing.status, missing.output);
        assertTrue(missing.output.contains("Missing required options: '--control-plane=<controlPlane>', "
                + "'--ca-bundle=<caBundle>'"), missing.output);
        Run unknown = run("--control-plane", "127.0.0.1:1", "--ca-bundle", "x.pem", "--node-id", "n1", "--bogus");
        assertEquals(2, unknown.status, unknown.output);
        assertTrue(unknown.output.contains("Unknown option: '--bogus'"), unknown.output);
    }

    @Test
    void withoutATeeDeviceItRefusesAndSaysWhereItLooked() throws Exception {
        for (String device : List.of("/sys/kernel/config/tsm/report", "/dev/attestation", "/dev/sev-guest", "/dev/tdx_guest")) {
            assumeFalse(Files.exists(Path.of(device)), "this machine has a TEE interface: " + device);
        }
        Path bundle = Files.writeString(dir.resolve("ca-bundle.pem"), "not a bundle");
        Run r = run("--control-plane", "127.0.0.1:1", "--ca-bundle", bundle.toString(), "--node-id", "n1", "--no-sds",
                "--output", dir.resolve("out").toString());
        assertEquals(1, r.status, r.output);
        assertTrue(r.output.contains("attestmesh agent: no usable TEE interface found; looked for: "
                + "/sys/kernel/config/tsm/report: absent"), r.output);
        assertTrue(r.output.contains("/dev/sev-guest: absent") && r.output.contains("/dev/tdx_guest: absent"), r.output);
        assertFalse(Files.exists(dir.resolve("out")), "no credentials directory without attestation");
    }

    @Test
    void aBundleThatIsNotPemIsNamed() throws Exception {
        Path bundle = Files.writeString(dir.resolve("bundle.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        Run r = run("--control-plane", "127.0.0.1:1", "--ca-bundle", bundle.toString(), "--node-id", "n1", "--no-sds",
                "--tee", "sim", "--sim-measurement", "a1".repeat(48), "--once", "--output", dir.resolve("out").toString());
        assertEquals(1, r.status, r.output);
        assertTrue(r.output.contains("attestmesh agent: CA bundle " + bundle + " is not a PEM certificate bundle"), r.output);
    }

    @Test
    void theJarsClassPathHoldsNoneOfTheServersLibraries() throws IOException {
        Manifest manifest;
        try (JarFile jar = new JarFile(JAR.toFile())) {
            manifest = jar.getManifest();
        }
        assertEquals("dev.attestmesh.agent.cli.AgentMain", manifest.getMainAttributes().getValue("Main-Class"));
        List<String> classPath = Arrays.asList(manifest.getMainAttributes().getValue("Class-Path").trim().split("\\s+"));
        List<String> lib;
        try (Stream<Path> s = Files.list(JAR.resolveSibling("lib"))) {
            lib = s.map(p -> "lib/" + p.getFileName()).sorted().toList();
        }
        assertEquals(lib, classPath.stream().sorted().toList(), "the lib folder is exactly the manifest class path");
        assertTrue(classPath.contains("lib/slf4j-simple-2.0.17.jar") || classPath.stream().anyMatch(e -> e.startsWith("lib/slf4j-simple-")),
                "a logging binding: " + classPath);
        for (String entry : classPath) {
            String name = entry.substring("lib/".length());
            for (String banned : FORBIDDEN) {
                assertFalse(name.toLowerCase(Locale.ROOT).startsWith(banned.toLowerCase(Locale.ROOT)),
                        name + " must not be on the agent's class path");
            }
        }
    }

    /**
     * The agent's layout (a jar whose manifest names only jars) is one the JDK's ahead-of-time cache covers, as
     * docs/operator-guide.md ("Faster restarts") and perf/run agent-start use it: a cache written by one run is taken
     * by the next with {@code -XX:AOTMode=on}, which refuses to start on a cache it cannot map (shown with a file
     * that is not a cache).
     */
    @Test
    void theAgentJarTakesAnAheadOfTimeCache() throws Exception {
        Path cache = dir.resolve("agent.aot");
        Run training = runWith(List.of("-XX:AOTCacheOutput=" + cache), "--help");
        assertEquals(0, training.status(), training.output());
        assertTrue(Files.isRegularFile(cache) && Files.size(cache) > 1 << 20, "no cache written: " + training.output());
        Run cached = runWith(List.of("-XX:AOTMode=on", "-XX:AOTCache=" + cache), "--version");
        assertEquals(0, cached.status(), cached.output());
        assertTrue(cached.output().contains("attestmesh agent"), cached.output());
        Path notACache = Files.writeString(dir.resolve("not-a-cache.aot"), "not an AOT cache");
        Run refused = runWith(List.of("-XX:AOTMode=on", "-XX:AOTCache=" + notACache), "--version");
        assertTrue(refused.status() != 0, "AOTMode=on started without a usable cache: " + refused.output());
    }

    private record Run(int status, String output) {}

    private Run run(String... args) throws Exception {
        return runWith(List.of(), args);
    }

    private Run runWith(List<String> jvmFlags, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xmx128m"));
        cmd.addAll(jvmFlags);
        cmd.addAll(List.of("-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        Path out = dir.resolve("process-" + System.nanoTime() + ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("ATTESTMESH_"));
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("agent still running after 60 s: " + Files.readString(out));
        }
        return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    }
}
