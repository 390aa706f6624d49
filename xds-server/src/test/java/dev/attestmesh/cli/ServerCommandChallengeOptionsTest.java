package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ServerCommandChallengeOptionsTest {
    @Test
    void challengeOptionsGiveTheirConfigurationKeys() {
        ServerCommand cmd = new ServerCommand();
        new CommandLine(cmd).parseArgs("--challenge-rate", "500", "--challenge-peer-rate", "2.5",
                "--challenge-max-per-peer", "32");
        assertEquals(Map.of("attestmesh.challenge.rate", "500.0", "attestmesh.challenge.peer-rate", "2.5",
                "attestmesh.challenge.max-per-peer", "32"), cmd.properties());
    }
}
