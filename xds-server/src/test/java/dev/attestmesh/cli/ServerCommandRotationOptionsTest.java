package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.server.ControlPlaneFixture;
import dev.attestmesh.server.ca.IntermediateRotationPolicy;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The rotation options of {@code attestmesh server} reach the running control plane; bad values stop the start. */
class ServerCommandRotationOptionsTest {

    @Test
    void rotationOptionsGiveTheirConfigurationKeys() {
        ServerCommand cmd = new ServerCommand();
        new CommandLine(cmd).parseArgs("--server-cert-ttl", "12h", "--server-cert-renew-before", "3h",
                "--intermediate-rotation", "off", "--intermediate-overlap", "2d");
        assertEquals(Map.of("attestmesh.server-cert.ttl", "12h", "attestmesh.server-cert.renew-before", "3h",
                "attestmesh.ca.intermediate-rotation", "off", "attestmesh.ca.intermediate-overlap", "2d"),
                cmd.properties());
    }

    @Test
    void theConfiguredServingCertificateLifetimeAndScheduleAreTheOnesInForce() throws Exception {
        ServerCommand cmd = new ServerCommand();
        new CommandLine(cmd).parseArgs("--server-cert-ttl", "12h", "--intermediate-rotation", "90d");
        Instant before = Instant.now();
        try (ControlPlaneFixture f = ControlPlaneFixture.start(ControlPlaneFixture.simPolicy("default",
                ControlPlaneFixture.GOOD), new HashMap<>(cmd.properties()))) {
            Instant notAfter = f.cp.servingCertificate().certificate().getNotAfter().toInstant();
            assertTrue(!notAfter.isBefore(before.plus(Duration.ofHours(12)).minusSeconds(1))
                    && notAfter.isBefore(Instant.now().plus(Duration.ofHours(12)).plusSeconds(1)),
                    "12 h serving certificate, got notAfter " + notAfter);
            Duration untilRenewal = Duration.between(before, f.cp.servingCertificate().renewAt());
            assertTrue(untilRenewal.compareTo(Duration.ofHours(8).minusSeconds(5)) > 0
                    && untilRenewal.compareTo(Duration.ofHours(8).plusSeconds(5)) < 0,
                    "renewed a third of 12 h before expiry, at " + f.cp.servingCertificate().renewAt());
            assertEquals(new IntermediateRotationPolicy.Every(Duration.ofDays(90)), f.cp.caRotation().policy());
        }
    }

    @Test
    void anOutOfBoundsValueStopsTheStartNamingTheKey(@TempDir Path dir) {
        Exception e = assertThrows(Exception.class, () -> ControlPlaneFixture.startIn(dir, ControlPlaneFixture.simPolicy(
                "default", ControlPlaneFixture.GOOD), Map.of("attestmesh.ca.intermediate-overlap", "12h")).close());
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        assertInstanceOf(IllegalArgumentException.class, root);
        assertTrue(root.getMessage().contains("attestmesh.ca.intermediate-overlap (12h) is shorter than "
                + "attestmesh.max-certificate-ttl (1d)"), root.getMessage());
    }
}
