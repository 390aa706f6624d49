package dev.attestmesh.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerifiedEvidence;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PolicyAppraiserTest {
    private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
    private static final String M = "aa".repeat(48);
    private final PolicyAppraiser appraiser = new PolicyAppraiser();

    static VerifiedEvidence sim(String measurement, boolean debug) {
        return new VerifiedEvidence(TeeType.SIM, TcbStatus.UP_TO_DATE, List.of(), debug, true, new byte[64],
                Map.of("measurement", measurement), Map.of(), new byte[32], Optional.empty(), Optional.empty());
    }

    static VerifiedEvidence tdx(TcbStatus status, List<String> advisories, Map<String, String> m, Map<String, Long> n) {
        return new VerifiedEvidence(TeeType.TDX, status, advisories, false, false, new byte[64], m, n, new byte[32],
                Optional.empty(), Optional.empty());
    }

    static Policy policy(String id, Set<TeeType> tees, Map<TeeType, ReferenceValues> ref) {
        return new Policy(id, 1, tees, Set.of(TcbStatus.UP_TO_DATE), Set.of(), false, ref, Duration.ofHours(24),
                Duration.ofHours(1));
    }

    private Appraisal one(VerifiedEvidence ev, Policy p) {
        return appraiser.appraise(ev, NOW, List.of(p), NOW);
    }

    @Test
    void simEvidenceSatisfiesPolicyListingSimWithMatchingMeasurement() {
        Policy p = policy("default", Set.of(TeeType.SIM), Map.of(TeeType.SIM, ReferenceValues.ofAllowed(Map.of("measurement", Set.of(M)))));
        Appraisal a = one(sim(M, false), p);
        assertEquals(List.of(new PolicyRef("default", 1)), a.satisfied());
        assertEquals(Optional.empty(), a.firstFailure("default"));
    }

    @Test
    void simEvidenceNeverSatisfiesPolicyWithoutSim() {
        Policy p = policy("prod", Set.of(TeeType.TDX), Map.of());
        Appraisal a = one(sim(M, false), p);
        assertTrue(a.satisfied().isEmpty());
        assertEquals("policy 'prod' rule 'tee': observed sim, expected one of [tdx]", a.firstFailure("prod").orElseThrow());
        assertFalse(a.result("prod").orElseThrow().rules().stream().filter(r -> r.rule().equals("insecure")).findFirst()
                .orElseThrow().passed());
    }

    @Test
    void reportsMeasurementMismatchWithObservedAndExpected() {
        Policy p = policy("default", Set.of(TeeType.SIM), Map.of(TeeType.SIM, ReferenceValues.ofAllowed(Map.of("measurement", Set.of(M)))));
        String other = "bb".repeat(48);
        assertEquals("policy 'default' rule 'reference.measurement': observed " + other + ", expected one of [" + M + "]",
                one(sim(other, false), p).firstFailure("default").orElseThrow());
    }

    @Test
    void debugRequiresAllowDebug() {
        Policy p = policy("default", Set.of(TeeType.SIM), Map.of());
        assertTrue(one(sim(M, true), p).firstFailure("default").orElseThrow().contains("rule 'debug'"));
        Policy allow = new Policy("default", 1, Set.of(TeeType.SIM), Set.of(TcbStatus.UP_TO_DATE), Set.of(), true, Map.of(),
                Duration.ofHours(1), Duration.ofHours(1));
        assertEquals(1, one(sim(M, true), allow).satisfied().size());
    }

    @Test
    void tcbStatusAndAdvisoriesMustBeAccepted() {
        VerifiedEvidence ev = tdx(TcbStatus.SW_HARDENING_NEEDED, List.of("INTEL-SA-00615", "INTEL-SA-00828"), Map.of(), Map.of());
        Policy strict = policy("p", Set.of(TeeType.TDX), Map.of());
        assertTrue(one(ev, strict).firstFailure("p").orElseThrow().contains("rule 'tcbStatus': observed SWHardeningNeeded"));
        Policy some = new Policy("p", 1, Set.of(TeeType.TDX), Set.of(TcbStatus.UP_TO_DATE, TcbStatus.SW_HARDENING_NEEDED),
                Set.of("INTEL-SA-00615"), false, Map.of(), Duration.ofHours(1), Duration.ofHours(1));
        String f = one(ev, some).firstFailure("p").orElseThrow();
        assertTrue(f.contains("rule 'advisoryIds'") && f.contains("not accepted: [INTEL-SA-00828]"), f);
        Policy all = new Policy("p", 1, Set.of(TeeType.TDX), Set.of(TcbStatus.SW_HARDENING_NEEDED),
                Set.of("INTEL-SA-00615", "INTEL-SA-00828"), false, Map.of(), Duration.ofHours(1), Duration.ofHours(1));
        assertEquals(1, one(ev, all).satisfied().size());
    }

    @Test
    void masksMinimumsAndTeeTcbSvn() {
        ReferenceValues rv = new ReferenceValues(Map.of(), Map.of(), Map.of("guest_svn", 3L),
                Map.of("td_attributes", new MaskedValue(0, 0x1), "xfam", new MaskedValue(0x3, 0xff)),
                Optional.of("03000600000000000000000000000000"));
        Policy p = policy("p", Set.of(TeeType.TDX), Map.of(TeeType.TDX, rv));
        Map<String, String> good = Map.of("td_attributes", "0000001000000000", "xfam", "e702000000000000",
                "tee_tcb_svn", "04000700000000000000000000000000");
        // td_attributes bit 0 clear (not debug); xfam low byte 0xe7 & 0xff != 0x03 -> fails
        VerifiedEvidence ev = tdx(TcbStatus.UP_TO_DATE, List.of(), good, Map.of("guest_svn", 3L));
        String f = one(ev, p).firstFailure("p").orElseThrow();
        assertTrue(f.startsWith("policy 'p' rule 'masked.xfam'"), f);

        ReferenceValues rv2 = new ReferenceValues(Map.of(), Map.of(), Map.of("guest_svn", 3L),
                Map.of("td_attributes", new MaskedValue(0, 0x1), "xfam", new MaskedValue(0xe7, 0xff)),
                Optional.of("03000600000000000000000000000000"));
        Policy p2 = policy("p", Set.of(TeeType.TDX), Map.of(TeeType.TDX, rv2));
        assertEquals(1, one(ev, p2).satisfied().size());
        // one component below minimum (second byte 05 < 06)
        VerifiedEvidence low = tdx(TcbStatus.UP_TO_DATE, List.of(), Map.of("td_attributes", "0000001000000000",
                "xfam", "e702000000000000", "tee_tcb_svn", "09000500000000000000000000000000"), Map.of("guest_svn", 3L));
        assertTrue(one(low, p2).firstFailure("p").orElseThrow().contains("rule 'minimum.tee_tcb_svn'"));
        VerifiedEvidence oldSvn = tdx(TcbStatus.UP_TO_DATE, List.of(), good, Map.of("guest_svn", 2L));
        assertTrue(one(oldSvn, p2).firstFailure("p").orElseThrow().contains("rule 'minimum.guest_svn': observed 2, expected >= 3"));
        VerifiedEvidence missing = tdx(TcbStatus.UP_TO_DATE, List.of(), good, Map.of());
        assertTrue(one(missing, p2).firstFailure("p").orElseThrow().contains("observed absent"));
        // masked claim reported as an integer
        VerifiedEvidence numeric = tdx(TcbStatus.UP_TO_DATE, List.of(), Map.of("tee_tcb_svn", "03000600000000000000000000000000"),
                Map.of("guest_svn", 3L, "td_attributes", 1L, "xfam", 0xe7L));
        assertTrue(one(numeric, p2).firstFailure("p").orElseThrow().contains("rule 'masked.td_attributes'"));
    }

    @Test
    void allowedNumbers() {
        ReferenceValues rv = new ReferenceValues(Map.of(), Map.of("isvprodid", Set.of(1L)), Map.of(), Map.of(), Optional.empty());
        Policy p = policy("p", Set.of(TeeType.TDX), Map.of(TeeType.TDX, rv));
        assertEquals(1, one(tdx(TcbStatus.UP_TO_DATE, List.of(), Map.of(), Map.of("isvprodid", 1L)), p).satisfied().size());
        assertTrue(one(tdx(TcbStatus.UP_TO_DATE, List.of(), Map.of(), Map.of("isvprodid", 2L)), p).satisfied().isEmpty());
    }

    @Test
    void evidenceAgeLimit() {
        Policy p = new Policy("p", 1, Set.of(TeeType.SIM), Set.of(TcbStatus.UP_TO_DATE), Set.of(), false, Map.of(),
                Duration.ofMinutes(10), Duration.ofHours(1));
        assertEquals(1, appraiser.appraise(sim(M, false), NOW.minus(Duration.ofMinutes(10)), List.of(p), NOW).satisfied().size());
        Appraisal old = appraiser.appraise(sim(M, false), NOW.minus(Duration.ofMinutes(11)), List.of(p), NOW);
        assertEquals("policy 'p' rule 'evidenceAge': observed 660s, expected <= 600s", old.firstFailure("p").orElseThrow());
        assertTrue(appraiser.appraise(sim(M, false), NOW.plus(Duration.ofHours(1)), List.of(p), NOW).satisfied().isEmpty());
    }

    @Test
    void appraisesSeveralPoliciesIndependently() {
        Policy a = policy("a", Set.of(TeeType.SIM), Map.of());
        Policy b = policy("b", Set.of(TeeType.SNP), Map.of()).withVersion(7);
        Appraisal r = appraiser.appraise(sim(M, false), NOW, List.of(a, b), NOW);
        assertEquals(List.of(new PolicyRef("a", 1)), r.satisfied());
        assertEquals(7, r.result("b").orElseThrow().version());
        assertTrue(r.firstFailure("nope").orElseThrow().contains("unknown"));
    }
}
