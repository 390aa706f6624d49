package dev.attestmesh.quote.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.azure.AzureVtpmEvidence;
import dev.attestmesh.quote.azure.AzureVtpmVerifier;
import dev.attestmesh.quote.tpm.TpmsAttest;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The Azure vTPM collector against a fake TPM that checks every command it is sent. */
class AzureVtpmCollectorTest {
    private static final Path DEV = Path.of("/dev/tpmrm0");

    private static byte[] hcl() {
        byte[] b = new byte[2600]; // the size of a real HCL report: several NV_Read chunks
        new SecureRandom().nextBytes(b);
        return b;
    }

    private static byte[] reportData() {
        byte[] rd = new byte[64];
        new SecureRandom().nextBytes(rd);
        return rd;
    }

    @Test
    void collectsAQuoteOverTheReportDataThatTheVerifiersChecksAccept() throws Exception {
        byte[] nv = hcl();
        FakeTpm tpm = new FakeTpm(nv);
        tpm.nvBufferMax = 1024;
        byte[] rd = reportData();
        AzureVtpmCollector c = AzureVtpmCollector.create(tpm, DEV);
        assertEquals(TeeType.AZ_SNP_VTPM, c.tee());
        AzureVtpmEvidence ev = AzureVtpmEvidence.parse(c.collect(rd));
        assertArrayEquals(nv, ev.hclReport());
        assertEquals(24, ev.pcrs().size());
        TpmsAttest a = TpmsAttest.parse(ev.quoteMessage());
        assertArrayEquals(rd, a.extraData());
        // The verifier's own TPM checks accept what the collector wrote (the SNP part needs AMD's keys).
        AzureVtpmVerifier.checkQuoteSignature(ev.quoteMessage(), ev.quoteSignature(), tpm.ak.getPublic());
        AzureVtpmVerifier.checkPcrs(a, ev.pcrs());
        // NV read in 1024-byte chunks: 3 reads; PCRs read 8 at a time: 3 reads.
        assertEquals(3, Collections.frequency(tpm.commands, 0x14E));
        assertEquals(3, Collections.frequency(tpm.commands, 0x17E));
        assertEquals(1, tpm.closed);
    }

    @Test
    void aQuoteByAnotherKeyIsRefusedByTheVerifierCheck() throws Exception {
        FakeTpm tpm = new FakeTpm(hcl());
        AzureVtpmEvidence ev = AzureVtpmEvidence.parse(AzureVtpmCollector.create(tpm, DEV).collect(reportData()));
        FakeTpm other = new FakeTpm(hcl(), FakeTpm.newAk());
        EvidenceVerificationException e = assertThrows(EvidenceVerificationException.class, () ->
                AzureVtpmVerifier.checkQuoteSignature(ev.quoteMessage(), ev.quoteSignature(), other.ak.getPublic()));
        assertEquals(VerificationCheck.TPM_QUOTE_SIGNATURE, e.check());
    }

    @Test
    void smallNvBufferMeansMoreChunksAndTheSameReport() throws Exception {
        byte[] nv = hcl();
        FakeTpm tpm = new FakeTpm(nv);
        tpm.nvBufferMax = 256;
        AzureVtpmEvidence ev = AzureVtpmEvidence.parse(AzureVtpmCollector.create(tpm, DEV).collect(reportData()));
        assertArrayEquals(nv, ev.hclReport());
        assertEquals(11, Collections.frequency(tpm.commands, 0x14E));
    }

    @Test
    void aPcrExtendedBetweenQuoteAndReadIsRetriedThenRefused() throws Exception {
        FakeTpm once = new FakeTpm(hcl());
        once.extendAfterQuotes = 1;
        AzureVtpmEvidence ev = AzureVtpmEvidence.parse(AzureVtpmCollector.create(once, DEV).collect(reportData()));
        AzureVtpmVerifier.checkPcrs(TpmsAttest.parse(ev.quoteMessage()), ev.pcrs());
        assertEquals(2, once.quotes);
        FakeTpm racing = new FakeTpm(hcl());
        racing.extendAfterQuotes = Integer.MAX_VALUE; // every quote is followed by a PCR 10 extension
        EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class,
                () -> AzureVtpmCollector.create(racing, DEV).collect(reportData()));
        assertTrue(e.getMessage().contains("kept changing"), e.getMessage());
        assertEquals(AzureVtpmCollector.ATTEMPTS, racing.quotes);
    }

    @Test
    void tpmErrorsNameTheCommandAndCode() throws Exception {
        FakeTpm tpm = new FakeTpm(hcl());
        tpm.failCommand = 0x169;
        tpm.failCode = 0x18b; // TPM_RC_HANDLE for handle 1
        EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class,
                () -> AzureVtpmCollector.create(tpm, DEV).collect(reportData()));
        assertTrue(e.getMessage().contains("TPM2_NV_ReadPublic failed with response code 0x18b")
                && e.getMessage().contains("not an Azure confidential VM"), e.getMessage());
        FakeTpm quoteFails = new FakeTpm(hcl());
        quoteFails.failCommand = 0x158;
        quoteFails.failCode = 0x9a2; // TPM_RC_AUTH_FAIL
        e = assertThrows(EvidenceCollectionException.class, () -> AzureVtpmCollector.create(quoteFails, DEV).collect(reportData()));
        assertTrue(e.getMessage().contains("TPM2_Quote failed with response code 0x9a2"), e.getMessage());
    }

    @Test
    void truncatedResponsesAreMalformedNotCrashes() throws Exception {
        for (int cut : List.of(1, 5, 20)) {
            FakeTpm tpm = new FakeTpm(hcl());
            tpm.truncateResponses = cut;
            EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class,
                    () -> AzureVtpmCollector.create(tpm, DEV).collect(reportData()));
            assertTrue(e.getMessage().contains("malformed response"), e.getMessage());
        }
    }

    @Test
    void aQuoteNotCarryingTheReportDataIsRefused() throws Exception {
        FakeTpm tpm = new FakeTpm(hcl());
        tpm.quoteExtraData = new byte[64];
        EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class,
                () -> AzureVtpmCollector.create(tpm, DEV).collect(reportData()));
        assertTrue(e.getMessage().contains("does not carry the report data"), e.getMessage());
    }

    @Test
    void missingDeviceSaysWhatWasTried() throws Exception {
        EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class,
                () -> AzureVtpmCollector.create(new FakeTpm(hcl()), Path.of("/dev/tpmrm9")).collect(reportData()));
        assertTrue(e.getMessage().contains("/dev/tpmrm9") && e.getMessage().contains("Azure confidential VM"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> AzureVtpmCollector.create(new FakeTpm(hcl()), DEV).collect(new byte[32]));
    }

    @Test
    void configuredVcekTravelsInTheEvidence() throws Exception {
        AzureVtpmEvidence ev = AzureVtpmEvidence.parse(AzureVtpmCollector.create(new FakeTpm(hcl()), DEV)
                .withVcek("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n").collect(reportData()));
        assertTrue(ev.vcekPem().orElseThrow().contains("BEGIN CERTIFICATE"));
    }
}
