package dev.attestmesh.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.trustee.DelegatedClaims;
import dev.attestmesh.trustee.EarAppraisal;
import dev.attestmesh.trustee.EarStatus;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@code verifier: trustee} policies: the document format and appraisal on an AS's claims only. */
class TrusteePolicyTest {
    private static final Instant NOW = Instant.parse("2026-01-10T10:00:00Z");
    private static final String TRUSTEE = """
            policies:
              - id: delegated
                tee: [tdx]
                verifier: trustee
                asAddr: https://as.example:8080
                policyIds: [default]
                earStatus: [affirming, warning]
                reference:
                  tdx:
                    mrtd: ["%s"]
                    ear.tv.executables: [2, 3]
              - id: local
                tee: [tdx]
            """.formatted("b1".repeat(48));

    @Test
    void readsAndWritesTrusteePolicies() throws Exception {
        List<Policy> ps = PolicyDocuments.parse(TRUSTEE, "test");
        DelegatedVerifier d = ps.get(0).delegated().orElseThrow();
        assertEquals("https://as.example:8080", d.asAddr().toString());
        assertEquals(List.of("default"), d.policyIds());
        assertEquals(java.util.Set.of(EarStatus.AFFIRMING, EarStatus.WARNING), d.acceptedStatuses());
        assertTrue(ps.get(1).delegated().isEmpty());
        assertEquals(ps, PolicyDocuments.parse(PolicyDocuments.toYaml(ps), "round trip"));
    }

    @Test
    void listsEveryProblemOfATrusteePolicy() {
        PolicyValidationException e = assertThrows(PolicyValidationException.class, () -> PolicyDocuments.parse("""
                policies:
                  - id: bad
                    tee: [tdx]
                    verifier: trustee
                    asAddr: http://as.example.com
                    policyIds: ["../etc", "ok"]
                    earStatus: [contraindicated, super]
                    tcbStatus: [UpToDate]
                  - id: other
                    tee: [tdx]
                    verifier: remote
                  - id: stray
                    tee: [tdx]
                    asAddr: https://as.example
                """, "test"));
        String all = String.join("\n", e.problems());
        assertTrue(all.contains("policies[0].asAddr: asAddr must use https"), all);
        assertTrue(all.contains("policies[0].policyIds[0]"), all);
        assertTrue(all.contains("contraindicated is always refused"), all);
        assertTrue(all.contains("unknown EAR status 'super'"), all);
        assertTrue(all.contains("policies[0].tcbStatus: does not apply"), all);
        assertTrue(all.contains("policies[1].verifier: must be local or trustee"), all);
        assertTrue(all.contains("policies[2].asAddr: applies only with verifier: trustee"), all);
    }

    private static VerifiedEvidence delegated(DelegatedVerifier d, EarStatus status, boolean debug) {
        EarAppraisal a = new EarAppraisal(status, Map.of("executables", 3), Optional.of("default"),
                Map.of("mrtd", "b1".repeat(48)), Map.of(), Optional.of(debug), NOW, "test");
        return DelegatedClaims.combine(Optional.empty(), TeeType.TDX, new byte[64], new byte[32],
                Map.of(d.claimPrefix(), a));
    }

    @Test
    void trusteePolicyIsSatisfiedOnlyByItsServicesAppraisal() throws Exception {
        List<Policy> ps = PolicyDocuments.parse(TRUSTEE, "test");
        DelegatedVerifier d = ps.get(0).delegated().orElseThrow();
        Appraisal ok = new PolicyAppraiser().appraise(delegated(d, EarStatus.AFFIRMING, false), NOW, ps, NOW);
        assertEquals(List.of("delegated"), ok.satisfied().stream().map(PolicyRef::id).toList(),
                "a local policy never accepts evidence only the AS verified");

        DelegatedVerifier other = new DelegatedVerifier(java.net.URI.create("https://other-as.example"),
                List.of("default"), DelegatedVerifier.defaultStatuses());
        Appraisal wrongAs = new PolicyAppraiser().appraise(delegated(other, EarStatus.AFFIRMING, false), NOW, ps, NOW);
        assertTrue(wrongAs.satisfied().isEmpty(), "another AS's appraisal does not satisfy this policy");

        Appraisal none = new PolicyAppraiser().appraise(delegated(d, EarStatus.NONE, false), NOW, ps, NOW);
        assertTrue(none.satisfied().isEmpty());
        Appraisal debug = new PolicyAppraiser().appraise(delegated(d, EarStatus.AFFIRMING, true), NOW, ps, NOW);
        assertTrue(debug.satisfied().isEmpty(), "the AS's debug statement is appraised");
    }

    @Test
    void localEvidenceDoesNotSatisfyATrusteePolicy() throws Exception {
        List<Policy> ps = PolicyDocuments.parse(TRUSTEE, "test");
        VerifiedEvidence local = new VerifiedEvidence(TeeType.TDX, TcbStatus.UP_TO_DATE, List.of(), false, false,
                new byte[64], Map.of("mrtd", "b1".repeat(48)), Map.of("ear.status", 2L, "ear.tv.executables", 2L),
                new byte[32], Optional.empty(), Optional.empty());
        Appraisal a = new PolicyAppraiser().appraise(local, NOW, ps, NOW);
        assertEquals(List.of("local"), a.satisfied().stream().map(PolicyRef::id).toList());
        assertFalse(a.results().getFirst().satisfied());
    }
}
