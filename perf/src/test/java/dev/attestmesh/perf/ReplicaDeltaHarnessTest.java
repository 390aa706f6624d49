package dev.attestmesh.perf;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ReplicaDeltaHarnessTest {
    @Test
    void appliesEveryDeltaAndReportsARatioToTheSmallRegistry() throws Exception {
        PrintStream out = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            ReplicaDeltaHarness.main(new String[] {"--nodes", "200", "--deltas", "50", "--rounds", "1"});
        } finally {
            System.setOut(out);
        }
        String text = captured.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("\"deltasPerSecondAt200\":") && text.contains("\"ratioToFloorAt200\":"), text);
        assertThrows(IllegalArgumentException.class,
                () -> ReplicaDeltaHarness.main(new String[] {"--deltas", "0"}));
    }
}
