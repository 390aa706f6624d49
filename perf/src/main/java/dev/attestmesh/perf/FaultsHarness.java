package dev.attestmesh.perf;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.attestmesh.perf.faults.AuthzOutageScenario;
import dev.attestmesh.perf.faults.Kill9Scenario;
import dev.attestmesh.perf.faults.PostgresOutageScenario;
import dev.attestmesh.perf.faults.ScenarioResult;
import dev.attestmesh.perf.faults.SoakScenario;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code perf/run faults}: the fault suite of docs/reliability.md ("Fault suite"). Scenarios, each bounded in time:
 * <ul>
 *   <li>{@code kill9}: kill -9 of the control plane process under attestation load, restart on the same data
 *       ({@link Kill9Scenario});</li>
 *   <li>{@code postgres}: a throw-away PostgreSQL stopped for 30 s under attestation and Check load, then started
 *       ({@link PostgresOutageScenario}); skipped where the PostgreSQL server binaries are absent;</li>
 *   <li>{@code authz}: a standalone ext_authz replica loses its control plane for 30 s ({@link
 *       AuthzOutageScenario});</li>
 *   <li>{@code soak}: attest + renew + Check, heap, file descriptors and threads sampled ({@link SoakScenario}).</li>
 * </ul>
 * Usage: {@code perf/run faults [--soak-seconds N] [--only kill9|postgres|authz|soak]} (default soak 600 s). Prints a
 * table, then one JSON line; exits 1 when a scenario found a property broken.
 */
public final class FaultsHarness {
    private static final Set<String> SCENARIOS = Set.of("kill9", "postgres", "authz", "soak");

    private FaultsHarness() {}

    public static void main(String[] args) throws Exception {
        int soakSeconds = 600;
        String only = "";
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--soak-seconds") && i + 1 < args.length && args[i + 1].matches("[0-9]{1,5}")
                    && Integer.parseInt(args[i + 1]) >= 1) {
                soakSeconds = Integer.parseInt(args[++i]);
            } else if (a.equals("--only") && i + 1 < args.length && SCENARIOS.contains(args[i + 1])) {
                only = args[++i];
            } else {
                System.err.println("usage: perf/run faults [--soak-seconds N (1..99999)] [--only kill9|postgres|authz|soak];"
                        + " cannot use '" + a + "'");
                System.exit(2);
            }
        }
        List<ScenarioResult> results = new ArrayList<>();
        if (only.isEmpty() || only.equals("kill9")) {
            results.add(Kill9Scenario.run(Kill9Scenario.Settings.defaults()));
        }
        if (only.isEmpty() || only.equals("postgres")) {
            results.add(PostgresOutageScenario.run(PostgresOutageScenario.Settings.defaults()));
        }
        if (only.isEmpty() || only.equals("authz")) {
            results.add(AuthzOutageScenario.run(AuthzOutageScenario.Settings.defaults()));
        }
        if (only.isEmpty() || only.equals("soak")) {
            SoakScenario.Settings d = SoakScenario.Settings.defaults();
            results.add(SoakScenario.run(new SoakScenario.Settings(soakSeconds, Math.min(d.sampleSeconds(),
                    Math.max(1, soakSeconds / 6)), d.nodes())));
        }
        System.out.println(table(results));
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("cores", Runtime.getRuntime().availableProcessors());
        for (ScenarioResult r : results) {
            Map<String, Object> one = new LinkedHashMap<>(r.figures());
            one.put("passed", r.passed());
            one.put("problems", r.problems());
            json.put(r.name(), one);
        }
        System.out.println(new ObjectMapper().writeValueAsString(json));
        System.exit(results.stream().allMatch(ScenarioResult::passed) ? 0 : 1);
    }

    /** The results as a plain-text table: scenario, figure, value; then each scenario's verdict and problems. */
    public static String table(List<ScenarioResult> results) {
        StringBuilder sb = new StringBuilder("\nAttestMesh fault suite (" + Runtime.getRuntime().availableProcessors()
                + " cores)\n");
        sb.append(String.format(Locale.ROOT, "%-10s %-36s %s%n", "scenario", "figure", "value"));
        for (ScenarioResult r : results) {
            for (Map.Entry<String, Object> e : r.figures().entrySet()) {
                String v = String.valueOf(e.getValue());
                sb.append(String.format(Locale.ROOT, "%-10s %-36s %s%n", r.name(), e.getKey(),
                        v.length() > 160 ? v.substring(0, 160) + "..." : v));
            }
            sb.append(String.format(Locale.ROOT, "%-10s %-36s %s%n", r.name(), "verdict",
                    r.isSkipped() ? "SKIPPED" : r.passed() ? "PASS" : "FAIL: " + String.join("; ", r.problems())));
        }
        return sb.toString();
    }
}
