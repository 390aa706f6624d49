package dev.attestmesh.agent.coco;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.attestmesh.agent.CollectedEvidence;
import dev.attestmesh.agent.NodeKeyPair;
import dev.attestmesh.issuance.ReportDataBinding;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.azure.AzureVtpmEvidence;
import dev.attestmesh.quote.azure.AzureVtpmVerifier;
import dev.attestmesh.quote.collateral.CollateralJsonParser;
import dev.attestmesh.quote.collateral.CollateralProvider;
import dev.attestmesh.quote.device.EvidenceCollectionException;
import dev.attestmesh.quote.intel.DcapQuoteVerifier;
import dev.attestmesh.quote.snp.SnpProduct;
import dev.attestmesh.quote.snp.SnpReport;
import dev.attestmesh.quote.snp.SnpReportVerifier;
import dev.attestmesh.quote.snp.SnpTcb;
import dev.attestmesh.quote.snp.VcekProvider;
import dev.attestmesh.quote.trust.AmdTrustAnchors;
import dev.attestmesh.quote.trust.IntelTrustAnchors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.io.ByteArrayInputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real TDX, SEV-SNP and Azure SNP vTPM evidence (../shared/vectors), wrapped in the attestation-agent's JSON
 * for that TEE, served by a ttrpc attestation-agent on a real Unix socket, collected by {@code --tee coco}'s
 * source with a fresh binding as runtime data, and verified by the control plane's own verifiers: every
 * signature check passes (the mapping is lossless) and the binding check then fails, as recorded hardware
 * evidence cannot carry this nonce.
 */
class CocoEvidenceVectorTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    @TempDir
    Path dir;
    private byte[] nonce;
    private NodeKeyPair key;
    private byte[] binding;

    @BeforeEach
    void binding() {
        nonce = new byte[32];
        new SecureRandom().nextBytes(nonce);
        key = NodeKeyPair.generate();
        binding = ReportDataBinding.expected(nonce, key.subjectPublicKeyInfoDer());
    }

    static Path vectors() {
        Path p = Path.of(System.getProperty("attestmesh.vectors", "../../shared/vectors"));
        assumeTrue(Files.isDirectory(p.resolve("tdx")) && Files.isDirectory(p.resolve("snp")),
                "test vectors not found at " + p.toAbsolutePath() + "; set -Dattestmesh.vectors");
        return p;
    }

    static byte[] read(String rel) throws Exception {
        return Files.readAllBytes(vectors().resolve(rel));
    }

    /** Serves {@code cocoJson} over ttrpc and collects it as the agent does. */
    private CollectedEvidence collect(byte[] cocoJson) throws Exception {
        try (FakeAttestationAgent aa = FakeAttestationAgent.answering(dir, cocoJson)) {
            CollectedEvidence e = new CocoEvidenceSource(new AttestationAgentClient(aa.socket, Duration.ofSeconds(5)))
                    .collect(binding);
            assertArrayEquals(binding, aa.received.getFirst().runtimeData(),
                    "the attestation-agent is asked for evidence over the DESIGN.md section 3 binding");
            return e;
        }
    }

    private void assertBindingMismatch(VerifiedEvidence verified) {
        assertFalse(ReportDataBinding.matches(verified.reportData(), nonce, key.subjectPublicKeyInfoDer()),
                "recorded evidence cannot bind a fresh nonce: the control plane refuses it at the binding check");
    }

    @Test
    void tdxEvidenceBecomesTheQuoteAndVerifiesUpToTheBinding() throws Exception {
        byte[] quote = read("tdx/dcap-qvl-tdx/tdx_quote");
        ObjectNode coco = F.objectNode().put("cc_eventlog", Base64.getEncoder().encodeToString(
                read("tdx/go-tdx-guest/ccel/ccel_data.dat"))).put("quote", Base64.getEncoder().encodeToString(quote));
        CollectedEvidence e = collect(JSON.writeValueAsBytes(coco));
        assertEquals(TeeType.TDX, e.tee());
        assertArrayEquals(quote, e.evidence());
        VerifiedEvidence v = DcapQuoteVerifier.create(TeeType.TDX,
                IntelTrustAnchors.fromRootDer(read("roots/automata/rootCaDer.der")),
                CollateralProvider.fixed(CollateralJsonParser.quoteCollateralV3(
                        read("tdx/dcap-qvl-tdx/tdx_quote_collateral.json"))))
                .verify(VerificationRequest.of(e.tee(), e.evidence(), Instant.ofEpochSecond(1752919234)));
        assertEquals(TeeType.TDX, v.tee());
        assertBindingMismatch(v);
    }

    @Test
    void snpEvidenceInTheSevCrateFormIsReEncodedByteForByteAndVerifiesWithItsVcek() throws Exception {
        byte[] report = read("snp/go-sev-guest-milan/attestation.bin");
        byte[] vcek = read("snp/go-sev-guest-milan/vcek.testcer");
        ObjectNode coco = F.objectNode();
        coco.set("attestation_report", sevCrateJson(report, SnpProduct.MILAN));
        ArrayNode chain = coco.putArray("cert_chain");
        chain.add(F.objectNode().put("cert_type", "ARK").set("data", bytes(new byte[] {1, 2, 3})));
        chain.add(F.objectNode().set("cert_type", F.objectNode().put("OTHER", "00000000-0000-0000-0000-000000000000")));
        ((ObjectNode) chain.get(1)).set("data", bytes(new byte[0]));
        chain.add(F.objectNode().put("cert_type", "VCEK").set("data", bytes(vcek)));
        CollectedEvidence e = collect(JSON.writeValueAsBytes(coco));
        assertEquals(TeeType.SNP, e.tee());
        assertArrayEquals(report, e.evidence(), "the signed report is rebuilt exactly");
        assertArrayEquals(vcek, e.collateral().orElseThrow(), "the VCEK goes to the control plane as collateral");
        VerifiedEvidence v = SnpReportVerifier.create(AmdTrustAnchors.fromDirectory(vectors().resolve("roots/amd")),
                VcekProvider.none()).verify(new VerificationRequest(e.tee(), e.evidence(), e.collateral(),
                        Instant.parse("2025-06-01T00:00:00Z")));
        assertEquals("0102030405" + "00".repeat(59), HexFormat.of().formatHex(v.reportData()));
        assertBindingMismatch(v);
    }

    @Test
    void snpEvidenceAsHexIsTakenAsTheReport() throws Exception {
        byte[] report = read("snp/trustee-milan/test-report.bin");
        ObjectNode coco = F.objectNode().put("attestation_report", HexFormat.of().formatHex(report));
        coco.putNull("cert_chain");
        CollectedEvidence e = collect(JSON.writeValueAsBytes(coco));
        assertEquals(TeeType.SNP, e.tee());
        assertArrayEquals(report, e.evidence());
        assertTrue(e.collateral().isEmpty());
    }

    @Test
    void azureSnpVtpmEvidenceVersionOneIsPassedOnAndVerifiesUpToTheBinding() throws Exception {
        byte[] doc = read("snp/trustee-azure-genoa/evidence-genoa.json");
        CollectedEvidence e = collect(doc);
        assertEquals(TeeType.AZ_SNP_VTPM, e.tee());
        assertArrayEquals(doc, e.evidence());
        VerifiedEvidence v = azureVerifier().verify(VerificationRequest.of(e.tee(), e.evidence(),
                Instant.parse("2025-06-01T00:00:00Z")));
        assertEquals("afd689d0", v.measurements().get("pcr00").substring(0, 8));
        assertBindingMismatch(v);
    }

    @Test
    void azureSnpVtpmEvidenceVersionTwoIsRewrittenAndVerifiesUpToTheBinding() throws Exception {
        AzureVtpmEvidence genoa = AzureVtpmEvidence.parse(read("snp/trustee-azure-genoa/evidence-genoa.json"));
        X509Certificate vcek = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(
                new ByteArrayInputStream(genoa.vcekPem().orElseThrow().getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
        HexFormat hex = HexFormat.of();
        ObjectNode coco = F.objectNode().put("version", 2);
        ObjectNode q = coco.putObject("tpm_quote");
        q.put("signature", hex.formatHex(genoa.quoteSignature())).put("message", hex.formatHex(genoa.quoteMessage()));
        ArrayNode pcrs = q.putArray("pcrs");
        genoa.pcrs().forEach(p -> pcrs.add(hex.formatHex(p)));
        coco.put("hcl_report", Base64.getUrlEncoder().encodeToString(genoa.hclReport()));
        coco.put("vcek", Base64.getUrlEncoder().encodeToString(vcek.getEncoded()));
        CollectedEvidence e = collect(JSON.writeValueAsBytes(coco));
        assertEquals(TeeType.AZ_SNP_VTPM, e.tee());
        VerifiedEvidence v = azureVerifier().verify(VerificationRequest.of(e.tee(), e.evidence(),
                Instant.parse("2025-06-01T00:00:00Z")));
        assertEquals("afd689d0", v.measurements().get("pcr00").substring(0, 8));
        assertBindingMismatch(v);
    }

    @Test
    void azureTdxVtpmEvidenceIsRefusedNamingIt() throws Exception {
        ObjectNode coco = F.objectNode().put("version", 2).put("hcl_report", "AA").put("td_quote", "AA");
        coco.putObject("tpm_quote");
        EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class,
                () -> collect(JSON.writeValueAsBytes(coco)));
        assertTrue(e.getMessage().contains("az-tdx-vtpm"), e.getMessage());
    }

    @Test
    void tdxEvidenceWhoseQuoteIsAnSgxQuoteIsRefused() throws Exception {
        ObjectNode coco = F.objectNode().put("cc_eventlog", "").put("quote",
                Base64.getEncoder().encodeToString(read("sgx/dcap-qvl-sgx/sgx_quote")));
        EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class,
                () -> collect(JSON.writeValueAsBytes(coco)));
        assertTrue(e.getMessage().contains("TEE type 0x0"), e.getMessage());
    }

    @Test
    void sgxEvidenceTakesItsTypeFromTheQuoteHeader() throws Exception {
        byte[] quote = read("sgx/dcap-qvl-sgx/sgx_quote");
        CollectedEvidence e = collect(JSON.writeValueAsBytes(F.objectNode().put("quote",
                Base64.getEncoder().encodeToString(quote))));
        assertEquals(TeeType.SGX, e.tee());
        assertArrayEquals(quote, e.evidence());
    }

    @Test
    void aTamperedSnpFieldFailsTheSignatureNotTheMapping() throws Exception {
        byte[] report = read("snp/go-sev-guest-milan/attestation.bin");
        ObjectNode r = sevCrateJson(report, SnpProduct.MILAN);
        r.put("guest_svn", 7);
        ObjectNode coco = F.objectNode();
        coco.set("attestation_report", r);
        CollectedEvidence e = collect(JSON.writeValueAsBytes(coco));
        var ex = assertThrows(dev.attestmesh.quote.EvidenceVerificationException.class, () ->
                SnpReportVerifier.create(AmdTrustAnchors.fromDirectory(vectors().resolve("roots/amd")),
                        VcekProvider.none()).verify(new VerificationRequest(e.tee(), e.evidence(),
                        Optional.of(read("snp/go-sev-guest-milan/vcek.testcer")), Instant.parse("2025-06-01T00:00:00Z"))));
        assertEquals(dev.attestmesh.quote.VerificationCheck.QUOTE_SIGNATURE, ex.check());
    }

    private static AzureVtpmVerifier azureVerifier() throws Exception {
        return AzureVtpmVerifier.create(SnpReportVerifier.create(
                AmdTrustAnchors.fromDirectory(vectors().resolve("roots/amd")), VcekProvider.none()));
    }

    /**
     * The report as the sev crate (version 6) serialises an {@code AttestationReport}, built from the project's own
     * parser's fields (not from the encoder under test), so that a wrong offset in either shows as a different report.
     */
    static ObjectNode sevCrateJson(byte[] bytes, SnpProduct product) throws Exception {
        SnpReport r = SnpReport.parse(bytes);
        ObjectNode o = F.objectNode();
        o.put("version", r.version()).put("guest_svn", r.guestSvn()).put("policy", r.policy());
        o.set("family_id", bytes(r.familyId()));
        o.set("image_id", bytes(r.imageId()));
        o.put("vmpl", r.vmpl()).put("sig_algo", r.signatureAlgo());
        o.set("current_tcb", tcb(r.currentTcbRaw(), product));
        o.put("plat_info", r.platformInfo());
        int keyInfo = (r.authorKeyEnabled() ? 1 : 0) | (r.maskChipKey() ? 2 : 0)
                | (java.nio.ByteBuffer.wrap(bytes, 0x48, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt() & 0x1c);
        o.put("key_info", keyInfo);
        o.set("report_data", bytes(r.reportData()));
        o.set("measurement", bytes(r.measurement()));
        o.set("host_data", bytes(r.hostData()));
        o.set("id_key_digest", bytes(r.idKeyDigest()));
        o.set("author_key_digest", bytes(r.authorKeyDigest()));
        o.set("report_id", bytes(r.reportId()));
        o.set("report_id_ma", bytes(r.reportIdMa()));
        o.set("reported_tcb", tcb(r.reportedTcbRaw(), product));
        if (r.cpuid().isPresent()) {
            o.put("cpuid_fam_id", r.cpuid().get().family()).put("cpuid_mod_id", r.cpuid().get().model())
                    .put("cpuid_step", r.cpuid().get().stepping());
        } else {
            o.putNull("cpuid_fam_id").putNull("cpuid_mod_id").putNull("cpuid_step");
        }
        o.set("chip_id", bytes(r.chipId()));
        o.set("committed_tcb", tcb(r.committedTcbRaw(), product));
        o.putObject("current").put("major", r.currentFirmware().major()).put("minor", r.currentFirmware().minor())
                .put("build", r.currentFirmware().build());
        o.putObject("committed").put("major", r.committedFirmware().major())
                .put("minor", r.committedFirmware().minor()).put("build", r.committedFirmware().build());
        o.set("launch_tcb", tcb(r.launchTcbRaw(), product));
        if (r.version() >= 5) {
            o.put("launch_mit_vector", r.launchMitVector()).put("current_mit_vector", r.currentMitVector());
        } else {
            o.putNull("launch_mit_vector").putNull("current_mit_vector");
        }
        ObjectNode sig = o.putObject("signature");
        sig.set("r", bytes(java.util.Arrays.copyOfRange(bytes, 0x2A0, 0x2A0 + 72)));
        sig.set("s", bytes(java.util.Arrays.copyOfRange(bytes, 0x2E8, 0x2E8 + 72)));
        return o;
    }

    private static ObjectNode tcb(long raw, SnpProduct product) {
        SnpTcb t = SnpTcb.decode(raw, product);
        ObjectNode o = F.objectNode();
        if (t.fmc().isPresent()) {
            o.put("fmc", t.fmc().getAsInt());
        } else {
            o.putNull("fmc");
        }
        return o.put("bootloader", t.bootloader()).put("tee", t.tee()).put("snp", t.snp()).put("microcode",
                t.microcode());
    }

    static ArrayNode bytes(byte[] b) {
        ArrayNode a = F.arrayNode();
        for (byte x : b) {
            a.add(x & 0xff);
        }
        return a;
    }
}
