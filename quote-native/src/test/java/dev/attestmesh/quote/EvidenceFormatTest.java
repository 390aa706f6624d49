package dev.attestmesh.quote;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.attestmesh.quote.sim.SimulatedTee;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Format detection on every kind of real vector, and on near misses and garbage. */
class EvidenceFormatTest {
    static Path vectors() {
        Path p = Path.of(System.getProperty("attestmesh.vectors", "../../shared/vectors"));
        assumeTrue(Files.isDirectory(p.resolve("sgx")), "vectors not found at " + p.toAbsolutePath() + "; skipping");
        return p;
    }

    static byte[] read(String relative) throws IOException {
        byte[] raw = Files.readAllBytes(vectors().resolve(relative));
        if (relative.endsWith(".hex") || relative.endsWith("hex.txt")) {
            String t = new String(raw).strip();
            return HexFormat.of().parseHex(t.startsWith("0x") ? t.substring(2) : t);
        }
        return raw;
    }

    @Test
    void everyRealVectorIsNamedByItsFraming() throws Exception {
        Map<String, EvidenceFormat> expected = Map.ofEntries(
                Map.entry("sgx/dcap-qvl-sgx/sgx_quote", EvidenceFormat.SGX_QUOTE_V3),
                Map.entry("sgx/automata-sgx-v3/sampleQuote_v3.bin", EvidenceFormat.SGX_QUOTE_V3),
                Map.entry("sgx/trustee-occlum/occlum_quote.dat", EvidenceFormat.SGX_QUOTE_V3),
                Map.entry("tdx/dcap-qvl-tdx/tdx_quote", EvidenceFormat.TDX_QUOTE_V4),
                Map.entry("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat", EvidenceFormat.TDX_QUOTE_V4),
                Map.entry("tdx/dcap-qvl-tdx-tappd/tdx-quote.hex", EvidenceFormat.TDX_QUOTE_V4),
                Map.entry("tdx/dcap-qvl-tdx-outdated/tdx_quote_outdated", EvidenceFormat.TDX_QUOTE_V5),
                Map.entry("tdx/automata-tdx-v5/alibaba_quote_5.dat", EvidenceFormat.TDX_QUOTE_V5),
                Map.entry("snp/go-sev-guest-milan/attestation.bin", EvidenceFormat.SNP_REPORT),
                Map.entry("snp/virtee-sev-milan/report_milan.bin", EvidenceFormat.SNP_REPORT),
                Map.entry("snp/trustee-milan/test-vlek-report.bin", EvidenceFormat.SNP_REPORT),
                Map.entry("snp/trustee-azure-milan-hcl/hcl-report.bin", EvidenceFormat.SNP_AZURE_HCL_REPORT),
                Map.entry("snp/trustee-azure-genoa/evidence-genoa.json", EvidenceFormat.AZURE_VTPM_JSON));
        for (Map.Entry<String, EvidenceFormat> e : expected.entrySet()) {
            assertEquals(e.getValue(), EvidenceFormat.detect(read(e.getKey())), e.getKey());
        }
        byte[] sim = SimulatedTee.withMeasurementHex("a1".repeat(48)).collect(new byte[64]);
        assertEquals(EvidenceFormat.SIMULATED, EvidenceFormat.detect(sim));
        assertEquals(TeeType.SIM, EvidenceFormat.SIMULATED.tee().orElseThrow());
    }

    @Test
    void nearMissesAndGarbageAreUnknownAndNeverThrow() throws Exception {
        assertEquals(EvidenceFormat.UNKNOWN, EvidenceFormat.detect(new byte[0]));
        assertEquals(EvidenceFormat.UNKNOWN, EvidenceFormat.detect(null));
        assertEquals(EvidenceFormat.UNKNOWN, EvidenceFormat.detect("not evidence at all".getBytes()));
        assertEquals(EvidenceFormat.UNKNOWN, EvidenceFormat.detect(new byte[1184]), "an all-zero report has version 0");
        byte[] sgx = read("sgx/dcap-qvl-sgx/sgx_quote");
        byte[] keyType3 = sgx.clone();
        keyType3[2] = 3;
        assertEquals(EvidenceFormat.UNKNOWN, EvidenceFormat.detect(keyType3), "only ECDSA P-256 quotes exist");
        byte[] v3Tdx = sgx.clone();
        v3Tdx[4] = (byte) 0x81;
        assertEquals(EvidenceFormat.UNKNOWN, EvidenceFormat.detect(v3Tdx), "v3 has no TDX");
        assertEquals(EvidenceFormat.UNKNOWN, EvidenceFormat.detect(Arrays.copyOf(sgx, 47)), "shorter than a header");
        byte[] v5 = read("tdx/automata-tdx-v5/alibaba_quote_5.dat");
        byte[] body9 = v5.clone();
        body9[48] = 9;
        assertEquals(EvidenceFormat.UNKNOWN, EvidenceFormat.detect(body9), "unknown v5 body type");
        byte[] snp = read("snp/go-sev-guest-milan/attestation.bin");
        assertEquals(EvidenceFormat.UNKNOWN, EvidenceFormat.detect(Arrays.copyOf(snp, 1183)));
        byte[] algo2 = snp.clone();
        algo2[0x34] = 2;
        assertEquals(EvidenceFormat.UNKNOWN, EvidenceFormat.detect(algo2));
        assertEquals(EvidenceFormat.UNKNOWN, EvidenceFormat.detect("{\"a\": 1}".getBytes()));
    }

    @Test
    void aDeclaredTypeThatContradictsTheFramingIsRefusedNamingBoth() throws Exception {
        byte[] tdx = read("tdx/dcap-qvl-tdx/tdx_quote");
        EvidenceVerificationException e = assertThrows(EvidenceVerificationException.class,
                () -> EvidenceFormat.checkDeclared(TeeType.SGX, tdx));
        assertEquals(VerificationCheck.UNSUPPORTED, e.check());
        assertTrue(e.getMessage().contains("declared as 'sgx'") && e.getMessage().contains("TDX quote v4 ('tdx')"),
                e.getMessage());
        EvidenceFormat.checkDeclared(TeeType.TDX, tdx);
        EvidenceFormat.checkDeclared(TeeType.SNP, read("snp/trustee-azure-milan-hcl/hcl-report.bin"));
        EvidenceFormat.checkDeclared(TeeType.SGX, "garbage".getBytes()); // the SGX parser reports what is wrong

        // Through the dispatcher, the server's path: the mismatch is refused before the SGX parser runs.
        EvidenceVerifiers v = Verifiers.builder().simulator(true).build();
        byte[] sim = SimulatedTee.withMeasurementHex("a1".repeat(48)).collect(new byte[64]);
        EvidenceVerificationException viaServer = assertThrows(EvidenceVerificationException.class,
                () -> v.verify(VerificationRequest.of(TeeType.SGX, sim, java.time.Instant.now())));
        assertTrue(viaServer.getMessage().contains("simulated evidence"), viaServer.getMessage());
    }
}
