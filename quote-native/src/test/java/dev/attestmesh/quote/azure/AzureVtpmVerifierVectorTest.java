package dev.attestmesh.quote.azure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.tpm.TpmsAttest;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Azure SEV-SNP vTPM evidence: Trustee's Genoa vector reaches its source's outcome (MANIFEST.md:
 * evaluate succeeds, pcr00 afd689d0...783338), and each tampering fails in the check that owns it.
 */
class AzureVtpmVerifierVectorTest {
    private static final Instant AT = Instant.parse("2025-06-01T00:00:00Z");
    private static final HexFormat HEX = HexFormat.of();

    private static VerifiedEvidence verify(byte[] evidence) throws EvidenceVerificationException {
        return AzureVectors.verifier().verify(VerificationRequest.of(TeeType.AZ_SNP_VTPM, evidence, AT));
    }

    private static VerificationCheck failure(byte[] evidence) {
        return assertThrows(EvidenceVerificationException.class, () -> verify(evidence)).check();
    }

    private static AzureVtpmEvidence genoa() throws Exception {
        return AzureVtpmEvidence.parse(AzureVectors.read(AzureVectors.GENOA));
    }

    private static byte[] with(AzureVtpmEvidence e, byte[] message, List<byte[]> pcrs, byte[] signature, byte[] hcl) {
        return new AzureVtpmEvidence(message, pcrs, signature, hcl, e.vcekPem()).toJson();
    }

    @Test
    void genoaEvidenceVerifiesWithTheSourcesPcr0AndMeasurement() throws Exception {
        VerifiedEvidence v = verify(AzureVectors.read(AzureVectors.GENOA));
        assertEquals(TeeType.AZ_SNP_VTPM, v.tee());
        assertEquals("afd689d0bb1c5f36f023fbaf574135f555a28a10c1f6b938d2a25e70c7783338", v.measurements().get("pcr00"));
        assertEquals(24, v.measurements().keySet().stream().filter(k -> k.matches("pcr\\d\\d")).count());
        assertEquals("f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3706faf814c9e61065768a6ff917c89ae",
                v.primaryMeasurement());
        assertEquals(23L, v.numbers().get("reported_tcb.snp"));
        assertEquals(1L, v.numbers().get("vm.secure_boot"));
        assertEquals(0L, v.numbers().get("vmpl"));
        // The report data is the quote's qualifying data (48 bytes in this vector), zero-padded.
        byte[] rd = v.reportData();
        assertEquals("0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938ca05475f8b46094de6b64270ea35d950f",
                HEX.formatHex(rd, 0, 48));
        assertArrayEquals(new byte[16], Arrays.copyOfRange(rd, 48, 64));
        assertTrue(v.platformId().orElseThrow().startsWith("snp-chip:"));
    }

    @Test
    void alteredQuoteMessageFailsTheTpmQuoteSignature() throws Exception {
        AzureVtpmEvidence e = genoa();
        byte[] m = e.quoteMessage();
        m[0x30] ^= 1; // inside extraData: a replayed quote with another nonce
        assertEquals(VerificationCheck.TPM_QUOTE_SIGNATURE, failure(with(e, m, e.pcrs(), e.quoteSignature(), e.hclReport())));
    }

    @Test
    void alteredPcrValueFailsThePcrDigest() throws Exception {
        AzureVtpmEvidence e = genoa();
        List<byte[]> pcrs = new ArrayList<>(e.pcrs());
        pcrs.get(7)[0] ^= 1;
        assertEquals(VerificationCheck.TPM_PCR_DIGEST, failure(with(e, e.quoteMessage(), pcrs, e.quoteSignature(), e.hclReport())));
    }

    @Test
    void missingOrReorderedPcrValuesFailThePcrDigest() throws Exception {
        AzureVtpmEvidence e = genoa();
        List<byte[]> fewer = new ArrayList<>(e.pcrs());
        fewer.removeLast();
        assertEquals(VerificationCheck.TPM_PCR_DIGEST, failure(with(e, e.quoteMessage(), fewer, e.quoteSignature(), e.hclReport())));
        List<byte[]> swapped = new ArrayList<>(e.pcrs());
        java.util.Collections.swap(swapped, 0, 1);
        assertEquals(VerificationCheck.TPM_PCR_DIGEST, failure(with(e, e.quoteMessage(), swapped, e.quoteSignature(), e.hclReport())));
    }

    @Test
    void alteredRuntimeClaimsFailTheHclBinding() throws Exception {
        AzureVtpmEvidence e = genoa();
        byte[] hcl = e.hclReport();
        hcl[0x6e0] += 1; // Trustee's test_verify_report_data_failure offset: inside the runtime claims
        assertEquals(VerificationCheck.HCL_REPORT_DATA_BINDING, failure(with(e, e.quoteMessage(), e.pcrs(), e.quoteSignature(), hcl)));
    }

    @Test
    void alteredSnpReportFailsTheReportSignature() throws Exception {
        AzureVtpmEvidence e = genoa();
        byte[] hcl = e.hclReport();
        hcl[0x20 + 0x90] ^= 1; // the measurement
        assertEquals(VerificationCheck.QUOTE_SIGNATURE, failure(with(e, e.quoteMessage(), e.pcrs(), e.quoteSignature(), hcl)));
    }

    @Test
    void milanHclReportWithItsSnpVersionZeroedFailsTheTcbCheckInsideTheAzureVerifier() throws Exception {
        // MANIFEST.md, trustee-azure-milan-hcl: byte 0x1A6 set to 0 gives "SNP version mismatch".
        AzureVtpmEvidence e = genoa();
        byte[] hcl = AzureVectors.read("snp/trustee-azure-milan-hcl/hcl-report.bin");
        hcl[0x1A6] = 0;
        String vcek = new String(AzureVectors.read("snp/trustee-azure-milan-hcl/vcek.pem"), java.nio.charset.StandardCharsets.US_ASCII);
        byte[] doc = new AzureVtpmEvidence(e.quoteMessage(), e.pcrs(), e.quoteSignature(), hcl, Optional.of(vcek)).toJson();
        assertEquals(VerificationCheck.VCEK_TCB, failure(doc));
    }

    @Test
    void quoteSignedByAnotherKeyFailsTheTpmQuoteSignature() throws Exception {
        AzureVtpmEvidence e = genoa();
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        KeyPair other = g.generateKeyPair();
        Signature s = Signature.getInstance("SHA256withRSA");
        s.initSign(other.getPrivate());
        s.update(e.quoteMessage());
        assertEquals(VerificationCheck.TPM_QUOTE_SIGNATURE,
                failure(with(e, e.quoteMessage(), e.pcrs(), s.sign(), e.hclReport())));
    }

    @Test
    void vcekOfAnotherChipIsRefused() throws Exception {
        AzureVtpmEvidence e = genoa();
        byte[] doc = e.toJson();
        byte[] milanVcek = AzureVectors.read("snp/trustee-azure-milan-hcl/vcek.pem");
        EvidenceVerificationException x = assertThrows(EvidenceVerificationException.class, () -> AzureVectors.verifier()
                .verify(new VerificationRequest(TeeType.AZ_SNP_VTPM, doc, Optional.of(milanVcek), AT)));
        assertTrue(x.check() == VerificationCheck.VCEK_TCB || x.check() == VerificationCheck.VCEK_CHAIN, x.check() + ": " + x.getMessage());
    }

    @Test
    void truncatedOrMalformedStructuresFailParsingWithTheirName() throws Exception {
        AzureVtpmEvidence e = genoa();
        byte[] m = e.quoteMessage();
        EvidenceVerificationException x = assertThrows(EvidenceVerificationException.class, () -> verify(
                with(e, Arrays.copyOf(m, m.length - 5), e.pcrs(), e.quoteSignature(), e.hclReport())));
        assertEquals(VerificationCheck.PARSE, x.check());
        assertTrue(x.getMessage().contains("TPMS_ATTEST") && x.getMessage().contains("truncated"), x.getMessage());
        byte[] notQuote = m.clone();
        notQuote[5] = 0x17; // TPM_ST_ATTEST_CERTIFY
        assertEquals(VerificationCheck.PARSE, failure(with(e, notQuote, e.pcrs(), e.quoteSignature(), e.hclReport())));
        assertEquals(VerificationCheck.PARSE, failure("{\"quote\":{}}".getBytes()));
        assertEquals(VerificationCheck.PARSE, failure("{\"quote\":{\"message\":[256],\"pcrs\":[],\"signature\":[]},\"report\":[]}".getBytes()));
        assertEquals(VerificationCheck.PARSE, failure("{\"quote\":1,\"report\":[],\"extra\":1}".getBytes()));
        assertEquals(VerificationCheck.PARSE, failure(new byte[AzureVtpmEvidence.MAX_DOCUMENT_BYTES + 1]));
    }

    @Test
    void evidenceOfAnotherTypeIsRefused() {
        assertEquals(VerificationCheck.UNSUPPORTED, assertThrows(EvidenceVerificationException.class, () -> AzureVectors.verifier()
                .verify(VerificationRequest.of(TeeType.SNP, AzureVectors.read(AzureVectors.GENOA), AT))).check());
    }

    @Test
    void theSnpTcbStatusCarriesOverToAzureEvidence() throws Exception {
        var anchors = dev.attestmesh.quote.trust.AmdTrustAnchors.fromDirectory(AzureVectors.root().resolve("roots/amd"));
        var options = dev.attestmesh.quote.snp.SnpVerifierOptions.none().withCurrentTcb(java.util.Map.of(
                dev.attestmesh.quote.snp.SnpProduct.GENOA, dev.attestmesh.quote.snp.SnpTcb.of(10, 0, 24, 84,
                        java.util.OptionalInt.empty())));
        AzureVtpmVerifier v = AzureVtpmVerifier.create(dev.attestmesh.quote.snp.SnpReportVerifier.create(anchors,
                dev.attestmesh.quote.snp.VcekProvider.none(), options));
        assertEquals(dev.attestmesh.quote.TcbStatus.OUT_OF_DATE, v.verify(VerificationRequest.of(TeeType.AZ_SNP_VTPM,
                AzureVectors.read(AzureVectors.GENOA), AT)).tcbStatus());
    }

    @Test
    void storedAzureEvidenceIsJudgedAgainUnderARaisedCurrentTcb(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        var anchors = dev.attestmesh.quote.trust.AmdTrustAnchors.fromDirectory(AzureVectors.root().resolve("roots/amd"));
        java.nio.file.Path file = dir.resolve("current.json");
        java.nio.file.Files.writeString(file, "{\"Genoa\": {\"bootloader\": 0, \"tee\": 0, \"snp\": 0, \"microcode\": 0}}");
        var hub = new dev.attestmesh.quote.collateral.CollateralChanges();
        var current = dev.attestmesh.quote.snp.SnpCurrentTcbFile.load(file, Optional.of(hub));
        AzureVtpmVerifier v = AzureVtpmVerifier.create(dev.attestmesh.quote.snp.SnpReportVerifier.create(anchors,
                dev.attestmesh.quote.snp.VcekProvider.none(),
                dev.attestmesh.quote.snp.SnpVerifierOptions.none().withCurrentTcb(current)));
        VerifiedEvidence stored = v.verify(VerificationRequest.of(TeeType.AZ_SNP_VTPM, AzureVectors.read(AzureVectors.GENOA), AT));
        assertEquals(dev.attestmesh.quote.TcbStatus.UP_TO_DATE, stored.tcbStatus());
        assertEquals(stored, v.reappraise(stored, AT));
        java.nio.file.Files.writeString(file, "{\"Genoa\": {\"bootloader\": 10, \"tee\": 0, \"snp\": 24, \"microcode\": 84}}");
        hub.refresh();
        VerifiedEvidence judged = v.reappraise(stored, AT);
        assertEquals(dev.attestmesh.quote.TcbStatus.OUT_OF_DATE, judged.tcbStatus());
        assertEquals(TeeType.AZ_SNP_VTPM, judged.tee());
        assertEquals(stored.measurements(), judged.measurements(), "the vTPM claims stay as verified");
    }

    @Test
    void tpmsAttestParserReadsTheVectorsQuote() throws Exception {
        TpmsAttest a = TpmsAttest.parse(genoa().quoteMessage());
        assertEquals(48, a.extraData().length);
        assertEquals(24, a.pcrSelections().getFirst().indices().size());
        assertEquals("2b30a66d715a7801b86d7912b710838bd3bd8d9aeec7c7135563f938cf8b3399", HEX.formatHex(a.pcrDigest()));
    }
}
