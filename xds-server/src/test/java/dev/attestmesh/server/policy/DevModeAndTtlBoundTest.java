package dev.attestmesh.server.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.AttestationRefusedException;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.policy.PolicyDocuments;
import dev.attestmesh.policy.PolicyValidationException;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.ControlPlaneSettings;
import dev.attestmesh.server.EvidenceVerifierSet;
import dev.attestmesh.server.testing.TestMesh;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The simulated TEE exists only in dev mode, and policies' certificate TTL is bounded: a policy naming
 * {@code sim} or asking for a longer TTL is refused from the policy file and through the registry the
 * admin API writes with; data written in dev mode stays readable without it, but simulated evidence is
 * then refused; a stored TTL above a tightened bound is cut to the bound.
 */
class DevModeAndTtlBoundTest {
    static final String GOOD = TestMesh.GOOD;

    static String simPolicy(String ttl) {
        return """
                policies:
                  - id: default
                    tee: [sim]
                    certificateTtl: %s
                    reference:
                      sim:
                        measurement: ["%s"]
                """.formatted(ttl, GOOD);
    }

    static final String HARDWARE_POLICY = """
            policies:
              - id: default
                tee: [tdx]
            """;

    @TempDir
    Path dir;

    ControlPlaneSettings settings(String policyYaml, boolean dev) throws Exception {
        Path policies = dir.resolve("policies.yaml");
        Files.writeString(policies, policyYaml);
        return ControlPlaneSettings.forTests(dir.resolve("cp"), Optional.of(policies))
                .withRegistrationFile(Optional.of(TestMesh.writeRegistrations(dir))).withDevMode(dev);
    }

    NodeAgent agent(ControlPlane cp, String id) throws Exception {
        return new NodeAgent(new NodeAgent.Settings(id, "127.0.0.1:" + cp.grpcPort(),
                Pem.parseCertificates(Files.readString(cp.caBundleFile())), dir.resolve("nodes").resolve(id),
                Optional.empty(), Optional.empty()), SimulatedTee.withMeasurementHex(GOOD), Clock.systemUTC());
    }

    @Test
    void simPolicyFileIsRefusedAtStartOutsideDevMode() throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ControlPlane.start(
                settings(simPolicy("1h"), false), Clock.systemUTC(), EvidenceVerifierSet.defaults()));
        assertTrue(e.getMessage().contains("'sim'") && e.getMessage().contains("--dev"), e.getMessage());
    }

    @Test
    void simPolicyWrittenLaterIsRefusedOutsideDevModeAndNothingChanges() throws Exception {
        try (ControlPlane cp = ControlPlane.start(settings(HARDWARE_POLICY, false), Clock.systemUTC(),
                EvidenceVerifierSet.defaults())) {
            long before = cp.policies().version("default").orElseThrow();
            PolicyValidationException e = assertThrows(PolicyValidationException.class,
                    () -> cp.policies().replace(PolicyDocuments.parse(simPolicy("1h"), "test")));
            assertTrue(e.problems().getFirst().contains("dev mode"), e.problems().toString());
            assertEquals(before, cp.policies().version("default").orElseThrow(), "nothing was written");
            assertTrue(cp.policies().get("default").orElseThrow().tees().stream()
                    .noneMatch(t -> t.wireName().equals("sim")));
        }
    }

    @Test
    void dataFromDevModeStartsWithoutItButSimulatedEvidenceIsThenRefused() throws Exception {
        try (ControlPlane cp = ControlPlane.start(settings(simPolicy("1h"), true), Clock.systemUTC(),
                EvidenceVerifierSet.defaults())) {
            AgentCredentials creds = agent(cp, "dev-node").attestOnce();
            assertTrue(creds.claims().getInsecure());
        }
        // Restart on the same data without dev mode and without a policy file: the stored sim policy stays.
        ControlPlaneSettings prod = ControlPlaneSettings.forTests(dir.resolve("cp"), Optional.empty())
                .withRegistrationFile(Optional.empty()).withDevMode(false);
        try (ControlPlane cp = ControlPlane.start(prod, Clock.systemUTC(), EvidenceVerifierSet.defaults())) {
            AttestationRefusedException e = assertThrows(AttestationRefusedException.class,
                    () -> agent(cp, "dev-node-2").attestOnce());
            assertTrue(e.getMessage().contains("no verifier for TEE type 'sim'"), e.getMessage());
        }
    }

    @Test
    void certificateTtlAboveTheBoundIsRefusedAndAtTheBoundAccepted() throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ControlPlane.start(
                settings(simPolicy("25h"), true), Clock.systemUTC(), EvidenceVerifierSet.defaults()));
        assertTrue(e.getMessage().contains("certificateTtl") && e.getMessage().contains("maximum"), e.getMessage());
        try (ControlPlane cp = ControlPlane.start(settings(simPolicy("24h"), true), Clock.systemUTC(),
                EvidenceVerifierSet.defaults())) {
            AgentCredentials creds = agent(cp, "day-node").attestOnce();
            Duration life = Duration.between(creds.leaf().getNotBefore().toInstant(),
                    creds.leaf().getNotAfter().toInstant());
            assertTrue(life.compareTo(Duration.ofHours(24).plusMinutes(5)) <= 0, life.toString());
        }
    }

    @Test
    void storedTtlAboveATightenedBoundIsCutToTheBound() throws Exception {
        try (ControlPlane cp = ControlPlane.start(settings(simPolicy("72h"), true)
                .withMaxCertificateTtl(Duration.ofHours(72)), Clock.systemUTC(), EvidenceVerifierSet.defaults())) {
            assertEquals(Duration.ofHours(72), cp.policies().get("default").orElseThrow().certificateTtl());
        }
        ControlPlaneSettings tightened = ControlPlaneSettings.forTests(dir.resolve("cp"), Optional.empty())
                .withRegistrationFile(Optional.empty()).withMaxCertificateTtl(Duration.ofHours(2));
        try (ControlPlane cp = ControlPlane.start(tightened, Clock.systemUTC(), EvidenceVerifierSet.defaults())) {
            assertEquals(Duration.ofHours(2), cp.policies().get("default").orElseThrow().certificateTtl());
            AgentCredentials creds = agent(cp, "short-node").attestOnce();
            Duration life = Duration.between(creds.leaf().getNotBefore().toInstant(),
                    creds.leaf().getNotAfter().toInstant());
            assertTrue(life.compareTo(Duration.ofHours(2).plusMinutes(5)) <= 0, "issued for " + life);
        }
    }

    @Test
    void boundItselfIsBounded() {
        assertThrows(IllegalArgumentException.class, () -> new PolicyRules(false, Duration.ofDays(8)));
        assertThrows(IllegalArgumentException.class, () -> new PolicyRules(false, Duration.ofSeconds(30)));
    }
}
