package dev.attestmesh.perf.extauthz;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.authz.RegistryChange;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class RegistryChurnTest {
    @Test
    void changesOtherNodesAtAboutItsRateForABoundedTimeAndNamesEachChange() throws Exception {
        InMemoryRegistryView view = new InMemoryRegistryView(List.of(), Map.of("default", 1L));
        List<RegistryChange> told = new CopyOnWriteArrayList<>();
        view.addTargetedChangeListener(told::add);
        long changes;
        long started = System.nanoTime();
        try (RegistryChurn churn = RegistryChurn.start(view, 500, Duration.ofMillis(400))) {
            Thread.sleep(600); // past its limit: it has stopped by itself
            changes = churn.changes();
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        assertTrue(changes >= 100 && changes <= 260, changes + " changes in 0.4 s at 500 /s (" + seconds + " s)");
        assertTrue(told.size() == changes, "every change is told: " + told.size() + " of " + changes);
        for (RegistryChange c : told) {
            assertFalse(c.everything(), "a churned node's change names it");
            assertTrue(c.nodeIds().iterator().next().startsWith("churn-"), "only other nodes churn: " + c);
        }
        assertTrue(view.byNodeId("churn-0").isPresent());
        assertThrows(IllegalArgumentException.class, () -> RegistryChurn.start(view, -1, Duration.ofSeconds(1)));
    }
}
