package dev.attestmesh.perf.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.attestmesh.perf.FaultsHarness;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The CI subset of {@code perf/run faults} (docs/reliability.md, "Fault suite"): every scenario, shortened, with
 * its fail-closed and recovery properties asserted (each scenario's own checks, {@link ScenarioResult#problems()},
 * plus the key figures here). About two and a half minutes in all; every scenario has a hard time limit. The
 * PostgreSQL scenario is skipped, saying so, where the PostgreSQL server binaries are absent.
 */
class FaultSuiteTest {

    @Test
    @Timeout(240)
    void kill9UnderLoadLosesNoAnsweredAttestationAndAgentsRecover() throws Exception {
        ScenarioResult r = Kill9Scenario.run(new Kill9Scenario.Settings(5, 2, 2, 200));
        report(r);
        Map<String, Object> f = r.figures();
        assertTrue(((Number) f.get("attestedBeforeKill")).longValue() > 0, f.toString());
        assertEquals(0L, ((Number) f.get("lostRecords")).longValue(), f.toString());
        assertEquals(0L, ((Number) f.get("lostLogEntries")).longValue(), f.toString());
        assertEquals(true, f.get("issuanceLogIntact"), f.toString());
        assertEquals(0L, ((Number) f.get("renewalsFailed")).longValue(), f.toString());
        assertTrue(r.passed(), r.problems().toString());
    }

    @Test
    @Timeout(180)
    void postgresOutageFailsAttestationsClosedWithUnavailableAndCheckAfterTheStalenessBoundThenRecovers()
            throws Exception {
        assumeTrue(ThrowawayPostgres.unavailableReason().isEmpty(), () -> "the PostgreSQL outage is not tested here: "
                + ThrowawayPostgres.unavailableReason().orElse(""));
        ScenarioResult r = PostgresOutageScenario.run(new PostgresOutageScenario.Settings(3, 14, Duration.ofSeconds(4),
                2));
        report(r);
        Map<String, Object> f = r.figures();
        @SuppressWarnings("unchecked")
        Map<String, Long> during = (Map<String, Long>) f.get("attestationsDuringOutage");
        assertTrue(during.getOrDefault("UNAVAILABLE", 0L) > 0 && during.keySet().equals(java.util.Set.of("UNAVAILABLE")),
                "only UNAVAILABLE while PostgreSQL is down: " + during);
        assertTrue(((Number) f.get("stopToFirstCheckDeniedStaleMs")).longValue() > 0, f.toString());
        assertEquals(0L, ((Number) f.get("checksAllowedWhileStale")).longValue(), f.toString());
        assertTrue(((Number) f.get("startToFirstAttestationMs")).longValue() >= 0, f.toString());
        assertTrue(((Number) f.get("startToFirstCheckAllowedMs")).longValue() >= 0, f.toString());
        assertTrue(r.passed(), r.problems().toString());
    }

    @Test
    @Timeout(120)
    void standaloneAuthzServesItsLastViewUntilTheStalenessBoundThenDeniesAndResumes() throws Exception {
        ScenarioResult r = AuthzOutageScenario.run(new AuthzOutageScenario.Settings(2, 8, Duration.ofSeconds(3)));
        report(r);
        Map<String, Object> f = r.figures();
        assertTrue(((Number) f.get("stopToLastCheckAllowedMs")).longValue() >= 1_500, f.toString());
        assertTrue(((Number) f.get("stopToFirstCheckDeniedStaleMs")).longValue() >= 1_500, f.toString());
        assertTrue(((Number) f.get("startToFirstCheckAllowedMs")).longValue() >= 0, f.toString());
        assertTrue(r.passed(), r.problems().toString());
    }

    @Test
    @Timeout(180)
    void oneMinuteSoakKeepsHeapDescriptorsAndThreadsStable() throws Exception {
        ScenarioResult r = SoakScenario.run(new SoakScenario.Settings(Integer.getInteger("attestmesh.soak.seconds", 60),
                5, 20));
        report(r);
        Map<String, Object> f = r.figures();
        assertTrue(((Number) f.get("renewals")).longValue() > 0 && ((Number) f.get("checks")).longValue() > 0,
                f.toString());
        assertEquals(0L, ((Number) f.get("renewalsFailed")).longValue(), f.toString());
        assertEquals(0L, ((Number) f.get("checksDenied")).longValue(), f.toString());
        assertTrue(r.passed(), r.problems().toString());
    }

    private static void report(ScenarioResult r) {
        System.out.println(FaultsHarness.table(List.of(r)));
    }
}
