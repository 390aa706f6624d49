package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class EvidenceVerifyCommandTest {
    static Path vectors() {
        Path d = Path.of(System.getProperty("attestmesh.vectors", "../shared/vectors"));
        assumeTrue(Files.isDirectory(d.resolve("sgx")), "vectors not found at " + d + "; skipping");
        return d;
    }

    record Run(int exit, JsonNode json, String err) {}

    static Run run(String... args) throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new AttestMeshCli());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        String o = out.toString();
        return new Run(code, o.isBlank() ? null : new ObjectMapper().readTree(o), err.toString());
    }

    @Test
    void verifiesTheSgxVectorWithItsStatusAdvisoriesAndMeasurements() throws Exception {
        Path v = vectors();
        Run r = run("evidence", "verify", "--evidence", v.resolve("sgx/dcap-qvl-sgx/sgx_quote").toString(),
                "--collateral", v.resolve("sgx/dcap-qvl-sgx/sgx_quote_collateral.json").toString(),
                "--intel-root", v.resolve("roots/dcap-qvl_TrustedRootCA.der").toString(),
                "--at", "2025-07-19T10:01:17Z");
        assertEquals(0, r.exit(), r.err());
        assertEquals(true, r.json().get("verified").asBoolean());
        assertEquals("sgx", r.json().get("tee").asText());
        assertEquals("ConfigurationAndSWHardeningNeeded", r.json().get("status").asText());
        assertEquals("[\"INTEL-SA-00289\",\"INTEL-SA-00615\"]", r.json().get("advisoryIds").toString());
        assertEquals("33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb",
                r.json().at("/measurements/mrenclave").asText());
        assertEquals("48656c6c6f2c20776f726c6421" + "00".repeat(51), r.json().get("reportData").asText());
        // The PPID in the quote's PCK leaf, read with openssl asn1parse -strparse (OID 1.2.840.113741.1.13.1.1).
        assertEquals("sgx-ppid:d04ec06d4e6d92dc90d0ad3cf5ee2ddf", r.json().get("platformId").asText());
    }

    @Test
    void verifiesTheTdxVectorAndRejectsItOnceTheCollateralExpired() throws Exception {
        Path v = vectors();
        String[] base = {"evidence", "verify", "--evidence", v.resolve("tdx/dcap-qvl-tdx/tdx_quote").toString(),
            "--collateral", v.resolve("tdx/dcap-qvl-tdx/tdx_quote_collateral.json").toString(),
            "--intel-root", v.resolve("roots/dcap-qvl_TrustedRootCA.der").toString(), "--at"};
        Run ok = run(concat(base, "2025-07-19T10:00:34Z"));
        assertEquals(0, ok.exit(), ok.err());
        assertEquals("UpToDate", ok.json().get("status").asText());
        assertEquals("91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7",
                ok.json().at("/measurements/mrtd").asText());
        Run late = run(concat(base, "2030-01-01T00:00:00Z"));
        assertEquals(1, late.exit());
        assertEquals("COLLATERAL_EXPIRED", late.json().at("/error/check").asText());
    }

    @Test
    void rejectsTheOutdatedTdxQuoteInTheTcbLevelCheck() throws Exception {
        Path v = vectors();
        Run r = run("evidence", "verify", "--evidence", v.resolve("tdx/dcap-qvl-tdx-outdated/tdx_quote_outdated")
                .toString(), "--collateral", v.resolve("tdx/dcap-qvl-tdx-outdated/tdx_quote_outdated_collateral.json")
                .toString(), "--intel-root", v.resolve("roots/dcap-qvl_TrustedRootCA.der").toString(),
                "--at", "2026-03-20T10:41:14Z");
        assertEquals(1, r.exit());
        assertEquals(false, r.json().get("verified").asBoolean());
        assertEquals("TCB_LEVEL", r.json().at("/error/check").asText());
    }

    @Test
    void verifiesTheSnpVectorWithItsVcek() throws Exception {
        Path v = vectors();
        Run r = run("evidence", "verify", "--evidence", v.resolve("snp/go-sev-guest-milan/attestation.bin").toString(),
                "--vcek", v.resolve("snp/go-sev-guest-milan/vcek.testcer").toString(),
                "--amd-roots", v.resolve("roots/amd").toString(), "--at", "2025-01-01T00:00:00Z");
        assertEquals(0, r.exit(), r.err());
        assertEquals("snp", r.json().get("tee").asText());
        assertEquals("b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01",
                r.json().at("/measurements/measurement").asText());
        assertEquals("snp-chip:3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d",
                r.json().get("platformId").asText());
    }

    @Test
    void detectsAndVerifiesAzureVtpmEvidenceWithItsPcrs() throws Exception {
        Path v = vectors();
        Run r = run("evidence", "verify", "--evidence", v.resolve("snp/trustee-azure-genoa/evidence-genoa.json").toString(),
                "--amd-roots", v.resolve("roots/amd").toString(), "--at", "2025-06-01T00:00:00Z");
        assertEquals(0, r.exit(), r.err());
        assertEquals("az-snp-vtpm", r.json().get("tee").asText());
        assertEquals("afd689d0bb1c5f36f023fbaf574135f555a28a10c1f6b938d2a25e70c7783338",
                r.json().at("/measurements/pcr00").asText());
        assertEquals("UpToDate", r.json().get("status").asText());
    }

    @Test
    void snpCurrentTcbMakesAnOlderReportOutOfDateAndAMissingCrlRefusesIt(@org.junit.jupiter.api.io.TempDir Path dir)
            throws Exception {
        Path v = vectors();
        Path tcb = dir.resolve("current-tcb.json");
        Files.writeString(tcb, "{\"Milan\": {\"bootloader\": 2, \"tee\": 0, \"snp\": 6, \"microcode\": 68}}");
        String[] base = {"evidence", "verify", "--evidence", v.resolve("snp/go-sev-guest-milan/attestation.bin").toString(),
                "--vcek", v.resolve("snp/go-sev-guest-milan/vcek.testcer").toString(),
                "--amd-roots", v.resolve("roots/amd").toString(), "--at", "2025-01-01T00:00:00Z"};
        Run r = run(concat(base, "--snp-current-tcb", tcb.toString()));
        assertEquals(0, r.exit(), r.err());
        assertEquals("OutOfDate", r.json().get("status").asText());
        Run noCrl = run(concat(base, "--amd-crl-dir", dir.toString()));
        assertEquals(1, noCrl.exit());
        assertEquals("COLLATERAL_UNAVAILABLE", noCrl.json().at("/error/check").asText());
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void aDeclaredTeeThatContradictsTheBytesIsRefusedNamingBoth() throws Exception {
        Path v = vectors();
        Run r = run("evidence", "verify", "--evidence", v.resolve("sgx/dcap-qvl-sgx/sgx_quote").toString(), "--tee", "tdx",
                "--intel-root", v.resolve("roots/dcap-qvl_TrustedRootCA.der").toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--tee tdx contradicts the evidence") && r.err().contains("SGX DCAP quote v3"), r.err());
        Run snp = run("evidence", "verify", "--evidence", v.resolve("snp/go-sev-guest-milan/attestation.bin").toString(),
                "--tee", "sgx");
        assertEquals(2, snp.exit());
        assertTrue(snp.err().contains("SEV-SNP attestation report ('snp')"), snp.err());
    }

    @Test
    void usageErrorsExitTwo() throws Exception {
        assertEquals(2, run("evidence", "verify").exit());
        Path junk = Files.createTempFile("junk", ".bin");
        Files.writeString(junk, "not evidence at all");
        Run r = run("evidence", "verify", "--evidence", junk.toString());
        assertEquals(2, r.exit());
        assertEquals(2, run("evidence", "verify", "--evidence", junk.toString(), "--tee", "sgx", "--at", "yesterday")
                .exit());
        Files.delete(junk);
    }

    static String[] concat(String[] a, String b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + 1);
        out[a.length] = b;
        return out;
    }
}
