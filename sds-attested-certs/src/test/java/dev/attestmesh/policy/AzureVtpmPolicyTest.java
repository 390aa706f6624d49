package dev.attestmesh.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.azure.AzureVtpmVerifier;
import dev.attestmesh.quote.snp.SnpReportVerifier;
import dev.attestmesh.quote.snp.VcekProvider;
import dev.attestmesh.quote.trust.AmdTrustAnchors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The {@code pcrs} and {@code minimumTcb} rules, appraised against the claims the real verifier
 * produces from Trustee's Azure Genoa vector.
 */
class AzureVtpmPolicyTest {
    private static final Instant AT = Instant.parse("2025-06-01T00:00:00Z");
    private static final String PCR0 = "afd689d0bb1c5f36f023fbaf574135f555a28a10c1f6b938d2a25e70c7783338";

    private static VerifiedEvidence genoa() throws Exception {
        Path v = Path.of(System.getProperty("attestmesh.vectors", "../../shared/vectors"));
        assumeTrue(Files.isDirectory(v.resolve("snp/trustee-azure-genoa")), "vectors not found at " + v + "; skipping");
        AzureVtpmVerifier verifier = AzureVtpmVerifier.create(SnpReportVerifier.create(
                AmdTrustAnchors.fromDirectory(v.resolve("roots/amd")), VcekProvider.none()));
        return verifier.verify(VerificationRequest.of(TeeType.AZ_SNP_VTPM,
                Files.readAllBytes(v.resolve("snp/trustee-azure-genoa/evidence-genoa.json")), AT));
    }

    private static PolicyResult appraise(VerifiedEvidence ev, String reference) throws Exception {
        String yaml = """
                policies:
                  - id: azure
                    tee: [az-snp-vtpm]
                    debug: true
                    maxEvidenceAge: 1h
                    reference:
                      az-snp-vtpm:
                %s""".formatted(reference.indent(8));
        List<Policy> ps = PolicyDocuments.parse(yaml, "azure.yaml");
        assertEquals(ps, PolicyDocuments.parse(PolicyDocuments.toYaml(ps), "round-trip"));
        return new PolicyAppraiser().appraise(ev, AT, ps, AT).result("azure").orElseThrow();
    }

    @Test
    void pinnedPcrAndMinimumTcbOfTheRealEvidenceAreSatisfied() throws Exception {
        PolicyResult r = appraise(genoa(), """
                pcrs: {0: ["%s"]}
                minimumTcb: {bootloader: 10, snp: 23, microcode: 84}
                """.formatted(PCR0.toUpperCase()));
        assertTrue(r.satisfied(), r.toString());
        assertTrue(r.rules().stream().anyMatch(x -> x.rule().equals("reference.pcr00") && x.passed()));
        assertTrue(r.rules().stream().anyMatch(x -> x.rule().equals("minimum.committed_tcb.snp") && x.passed()));
    }

    @Test
    void anotherPcrValueFailsItsRule() throws Exception {
        PolicyResult r = appraise(genoa(), "pcrs: {0: [\"%s\"]}\n".formatted("00".repeat(32)));
        assertFalse(r.satisfied());
        assertEquals("reference.pcr00", r.firstFailedRule().orElseThrow().rule());
    }

    @Test
    void aHigherMinimumSnpVersionFailsOnTheReportedTcb() throws Exception {
        PolicyResult r = appraise(genoa(), "minimumTcb: {snp: 24}\n");
        assertFalse(r.satisfied());
        assertEquals("minimum.committed_tcb.snp", r.rules().stream().filter(x -> !x.passed()).map(RuleResult::rule)
                .sorted().findFirst().orElseThrow());
    }

    @Test
    void turinOnlyFmcMinimumFailsOnGenoaEvidenceThatHasNoFmc() throws Exception {
        PolicyResult r = appraise(genoa(), "minimumTcb: {fmc: 1}\n");
        assertFalse(r.satisfied());
        assertTrue(r.rules().stream().anyMatch(x -> x.rule().equals("minimum.reported_tcb.fmc") && !x.passed()
                && x.observed().equals("absent")));
    }

    @Test
    void badPcrAndTcbRulesAreRejectedNamingTheField() {
        for (String bad : List.of("pcrs: {24: [\"%s\"]}".formatted(PCR0), "pcrs: {0: [\"abcd\"]}", "pcrs: {0: []}",
                "minimumTcb: {kernel: 1}", "minimumTcb: {snp: 256}")) {
            PolicyValidationException e = assertThrows(PolicyValidationException.class, () -> PolicyDocuments.parse("""
                    policies:
                      - id: azure
                        tee: [az-snp-vtpm]
                        reference:
                          az-snp-vtpm:
                            %s
                    """.formatted(bad), "bad.yaml"), bad);
            assertTrue(e.getMessage().contains("reference.az-snp-vtpm."), e.getMessage());
        }
        PolicyValidationException e = assertThrows(PolicyValidationException.class, () -> PolicyDocuments.parse("""
                policies:
                  - id: intel
                    tee: [tdx]
                    reference:
                      tdx:
                        pcrs: {0: ["%s"]}
                """.formatted(PCR0), "tdx.yaml"));
        assertTrue(e.getMessage().contains("carries no PCRs"), e.getMessage());
    }
}
