package dev.attestmesh.perf.faults;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one fault scenario measured: its figures in the order they are reported (times in milliseconds, counts),
 * and the properties it found broken ({@link #problems()}; empty when the scenario passed).
 */
public record ScenarioResult(String name, Map<String, Object> figures, List<String> problems) {
    public ScenarioResult {
        figures = new LinkedHashMap<>(figures);
        problems = List.copyOf(problems);
    }

    public boolean passed() {
        return problems.isEmpty();
    }

    /** A scenario that could not run here (for example no PostgreSQL binaries), with the reason. */
    public static ScenarioResult skipped(String name, String reason) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("skipped", reason);
        return new ScenarioResult(name, f, List.of());
    }

    public boolean isSkipped() {
        return figures.containsKey("skipped");
    }
}
