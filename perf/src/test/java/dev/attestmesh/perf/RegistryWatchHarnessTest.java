package dev.attestmesh.perf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class RegistryWatchHarnessTest {
    @Test
    void everyChangeReachesTheWatcherAsADeltaAndARatioToTheSmallRegistryIsReported() throws Exception {
        String text = HarnessOutput.of(RegistryWatchHarness::main, "--nodes", "40", "--rates", "200", "--duration", "0.3",
                "--mesh", "true");
        String last = text.strip().lines().reduce((a, b) -> b).orElseThrow();
        assertTrue(last.startsWith("{") && last.contains("\"cpuRatioToFloorAt40Rate200\":")
                && last.contains("\"p50RatioToFloorAt40Rate200\":"), text);
        assertEquals("0", field(last, "unacknowledgedAt40Rate200"), "every change arrived: " + text);
        assertEquals("\"true\"", field(last, "mesh"), "with a mesh config requiring a policy: " + text);
        assertEquals("0", field(last, "fullResyncsAt40Rate200"), "no resync after the first snapshot: " + text);
        assertTrue(Double.parseDouble(field(last, "watchUsPerChangeAt40Rate200")) > 0,
                "the watch thread was found: " + text);
        assertThrows(IllegalArgumentException.class, () -> RegistryWatchHarness.main(new String[] {"--rates", "0"}));
        assertThrows(IllegalArgumentException.class,
                () -> RegistryWatchHarness.main(new String[] {"--nodes", "50001"}));
        assertThrows(IllegalArgumentException.class,
                () -> RegistryWatchHarness.main(new String[] {"--duration", "121"}));
        assertThrows(IllegalArgumentException.class, () -> RegistryWatchHarness.main(new String[] {"--rounds", "11"}));
        assertThrows(IllegalArgumentException.class, () -> RegistryWatchHarness.main(new String[] {"--churn", "1"}));
        assertThrows(IllegalArgumentException.class, () -> RegistryWatchHarness.main(new String[] {"--mesh", "yes"}));
        assertThrows(IllegalArgumentException.class,
                () -> RegistryWatchHarness.main(new String[] {"--churn-nodes", "-1"}));
    }

    @Test
    void readsNodeIndexesBackFromIds() {
        assertEquals(17, RegistryWatchHarness.index("perf-17"));
        assertEquals(-1, RegistryWatchHarness.index("web"));
        assertEquals(-1, RegistryWatchHarness.index("perf-x"));
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":([^,}]+)").matcher(json);
        assertTrue(m.find(), name + " missing in " + json);
        return m.group(1);
    }
}
