package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
}
