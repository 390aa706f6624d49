package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ServerCommandCollateralOptionTest {
    @Test
    void minimumTcbEvaluationDataNumberOptionSetsItsPropertyOnlyWhenGiven() {
        ServerCommand cmd = new ServerCommand();
        new CommandLine(cmd).parseArgs("--min-tcb-evaluation-data-number", "18");
        assertEquals("18", cmd.properties().get("attestmesh.collateral.min-tcb-evaluation-data-number"));
        ServerCommand bare = new ServerCommand();
        new CommandLine(bare).parseArgs();
        assertFalse(bare.properties().containsKey("attestmesh.collateral.min-tcb-evaluation-data-number"));
    }
}
