package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ServerCommandTest {
    @Test
    void optionsGiveTheirConfigurationKeysAndOnlyWhenGiven() {
        ServerCommand cmd = new ServerCommand();
        new CommandLine(cmd).parseArgs("--data-dir", "/d", "--grpc-port", "1", "--admin-port", "2",
                "--policy-file", "/p.yaml", "--mesh-file", "/m.yaml", "--authz-replicas", "spiffe://td/node/a");
        assertEquals(Map.of("attestmesh.data-dir", "/d", "attestmesh.grpc-port", 1, "attestmesh.admin-port", 2,
                "attestmesh.policy-file", "/p.yaml", "attestmesh.mesh-file", "/m.yaml",
                "attestmesh.authz.replica-identities", "spiffe://td/node/a"), cmd.properties());
        ServerCommand bare = new ServerCommand();
        new CommandLine(bare).parseArgs();
        assertEquals(Map.of(), bare.properties(), "defaults stay with application.yml and the environment");
    }

    @Test
    void shutdownGraceDefaultsToFiveSecondsAndIsBounded() {
        ServerCommand bare = new ServerCommand();
        new CommandLine(bare).parseArgs();
        assertEquals(Duration.ofSeconds(5), bare.grace());
        ServerCommand custom = new ServerCommand();
        new CommandLine(custom).parseArgs("--shutdown-grace", "1500ms");
        assertEquals(Duration.ofMillis(1500), custom.grace());
        ServerCommand tooLong = new ServerCommand();
        new CommandLine(tooLong).parseArgs("--shutdown-grace", "2m");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, tooLong::grace);
        assertTrue(e.getMessage().contains("at most 60s"), e.getMessage());
    }
}
