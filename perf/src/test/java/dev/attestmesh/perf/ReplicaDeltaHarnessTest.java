package dev.attestmesh.perf;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ReplicaDeltaHarnessTest {
    @Test
    void appliesEveryDeltaAndReportsARatioToTheSmallRegistry() throws Exception {
        String text = HarnessOutput.of(ReplicaDeltaHarness::main, "--nodes", "200", "--deltas", "50", "--rounds", "1");
        assertTrue(text.contains("\"deltasPerSecondAt200\":") && text.contains("\"ratioToFloorAt200\":"), text);
        assertThrows(IllegalArgumentException.class,
                () -> ReplicaDeltaHarness.main(new String[] {"--deltas", "0"}));
    }
}
