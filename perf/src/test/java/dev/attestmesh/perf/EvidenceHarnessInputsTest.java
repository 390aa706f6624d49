package dev.attestmesh.perf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerifiedEvidence;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The harness's Azure vTPM and SNP-with-CRL inputs do what they time (one call each, no JMH): the
 * verification succeeds and the floor's signatures verify, so a harness run measures real work.
 */
class EvidenceHarnessInputsTest {
    @Test
    void azureAndSnpCrlInputsVerifyOnceAndTheirFloorsHold() throws Exception {
        String p = System.getProperty("attestmesh.vectors", "../shared/vectors");
        assumeTrue(Files.isDirectory(Path.of(p).resolve("snp")), "vectors not found at " + p + "; skipping");
        EvidenceHarness.AzureInputs azure = new EvidenceHarness.AzureInputs();
        VerifiedEvidence a = azure.verify();
        assertEquals(TeeType.AZ_SNP_VTPM, a.tee());
        assertTrue(azure.floor());
        EvidenceHarness.SnpCrlInputs crl = new EvidenceHarness.SnpCrlInputs(new EvidenceHarness.SnpInputs());
        assertTrue(crl.verify() instanceof VerifiedEvidence);
        assertTrue(crl.floor());
    }
}
