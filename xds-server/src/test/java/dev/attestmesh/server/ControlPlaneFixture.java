package dev.attestmesh.server;

import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.quote.sim.SimulatedTee;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/** A Micronaut control plane on loopback ephemeral ports in a temporary directory, for tests. */
public final class ControlPlaneFixture implements AutoCloseable {
    public static final String GOOD = "a1".repeat(48);

    public final Path dir;
    public final ApplicationContext ctx;
    public final ControlPlane cp;

    private ControlPlaneFixture(Path dir, ApplicationContext ctx) {
        this.dir = dir;
        this.ctx = ctx;
        this.cp = ctx.getBean(ControlPlane.class);
    }

    /** Starts with the given policy YAML and extra properties. */
    public static ControlPlaneFixture start(String policyYaml, Map<String, Object> extra) throws IOException {
        Path dir = Files.createTempDirectory("attestmesh-test");
        return startIn(dir, policyYaml, extra);
    }

    /** Starts (or restarts) on an existing directory. */
    public static ControlPlaneFixture startIn(Path dir, String policyYaml, Map<String, Object> extra)
            throws IOException {
        Path policies = dir.resolve("policies.yaml");
        Files.writeString(policies, policyYaml);
        Map<String, Object> props = new HashMap<>(Map.of(
                "attestmesh.data-dir", dir.resolve("cp").toString(),
                "attestmesh.grpc-bind", "127.0.0.1",
                "attestmesh.grpc-port", 0,
                "attestmesh.admin-port", 0,
                "attestmesh.ca-key", "fixture-test-key",
                "attestmesh.dev-mode", true, // the fixture's nodes run on the simulated TEE
                "attestmesh.policy-file", policies.toString(),
                "attestmesh.registration-file", dev.attestmesh.server.testing.TestMesh.writeRegistrations(policies.getParent()).toString()));
        props.putAll(extra);
        return new ControlPlaneFixture(dir, Micronaut.build(new String[0]).banner(false).properties(props).start());
    }

    /** A policy file with one {@code default} policy for the simulator and the given measurement. */
    public static String simPolicy(String id, String measurement) {
        return """
                policies:
                  - id: %s
                    tee: [sim]
                    reference:
                      sim:
                        measurement: ["%s"]
                """.formatted(id, measurement);
    }

    public String target() {
        return "127.0.0.1:" + cp.grpcPort();
    }

    public NodeAgent agent(String nodeId, String measurement) {
        return agent(nodeId, measurement, Optional.empty());
    }

    /** An agent that asks for {@code identity} (agent --identity). */
    public NodeAgent agent(String nodeId, String measurement, Optional<String> identity) {
        try {
            return new NodeAgent(new NodeAgent.Settings(nodeId, target(),
                    Pem.parseCertificates(Files.readString(cp.caBundleFile())), dir.resolve("nodes").resolve(nodeId),
                    Optional.empty(), identity), SimulatedTee.withMeasurementHex(measurement), Clock.systemUTC());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Stops the application but keeps the directory (for restart tests). */
    public void stop() {
        ctx.close();
    }

    @Override
    public void close() {
        if (ctx.isRunning()) {
            ctx.close();
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
