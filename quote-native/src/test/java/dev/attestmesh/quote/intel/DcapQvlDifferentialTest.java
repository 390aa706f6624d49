package dev.attestmesh.quote.intel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.collateral.CollateralEncodings;
import dev.attestmesh.quote.collateral.CollateralJsonParser;
import dev.attestmesh.quote.collateral.CollateralProvider;
import dev.attestmesh.quote.collateral.PckCrl;
import dev.attestmesh.quote.collateral.QuoteCollateral;
import dev.attestmesh.quote.collateral.QuoteCollateralJsonWriter;
import dev.attestmesh.quote.collateral.RootCaCrl;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Differential test against the independent verifier {@code @phala/dcap-qvl-web} (Rust compiled to
 * WebAssembly, run by {@code perf/node/verify.mjs}): on every SGX/TDX vector with collateral and on
 * 200 seeded single-byte mutations of each quote, both verifiers reject, or both accept with the
 * same status and advisory IDs. The peer cannot decode TDX quote v5, so v5 vectors
 * (dcap-qvl-tdx-outdated, automata-tdx-v5) are compared only by the vector tests, not here.
 * Skipped when {@code node} or {@code perf/node/node_modules} is absent ({@code npm ci --prefix perf/node}).
 */
class DcapQvlDifferentialTest {
    private static final int MUTATIONS = 200;
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Vector(String name, TeeType tee, byte[] quote, QuoteCollateral collateral, Instant at) {}

    private static Path peerDir() {
        Path p = Path.of(System.getProperty("user.dir")).resolve("../perf/node").normalize();
        return Files.isDirectory(p) ? p : Path.of(System.getProperty("user.dir")).resolve("perf/node");
    }

    private static boolean nodeAvailable() {
        try {
            Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    private static List<X509Certificate> chain(String... ders) throws Exception {
        List<X509Certificate> out = new ArrayList<>();
        for (String d : ders) {
            out.add(CollateralEncodings.certificate(IntelVectors.bytes(d)));
        }
        return out;
    }

    /** Automata's PCS-format collateral with the issuer chains the peer needs spelled out. */
    private static QuoteCollateral automata(String tcb, String qe, String crl) throws Exception {
        List<X509Certificate> signing = chain("roots/automata/signingDer.der", "roots/automata/rootCaDer.der");
        return new QuoteCollateral(CollateralJsonParser.pcsTcbInfo(IntelVectors.bytes(tcb), signing),
                CollateralJsonParser.pcsEnclaveIdentity(IntelVectors.bytes(qe), signing),
                new PckCrl(CollateralEncodings.crl(IntelVectors.bytes(crl)),
                        chain("roots/automata/platformDer.der", "roots/automata/rootCaDer.der")),
                new RootCaCrl(CollateralEncodings.crl(IntelVectors.bytes("roots/automata/rootCrlDer.der"))));
    }

    private static List<Vector> vectors() throws Exception {
        return List.of(
                new Vector("dcap-qvl-sgx", TeeType.SGX, IntelVectors.bytes("sgx/dcap-qvl-sgx/sgx_quote"),
                        IntelVectors.dcapQvlCollateral("sgx/dcap-qvl-sgx/sgx_quote_collateral.json"), Instant.ofEpochSecond(1752919277)),
                new Vector("automata-sgx-v3", TeeType.SGX, IntelVectors.bytes("sgx/automata-sgx-v3/sampleQuote_v3.bin"),
                        automata("sgx/automata-sgx-v3/sgx_tcbinfov3_00606a000000.json", "sgx/automata-sgx-v3/sgx_qeidentity_v4.json",
                                "sgx/automata-sgx-v3/platform_crl_0825.der"), Instant.parse("2025-08-15T05:45:00Z")),
                new Vector("dcap-qvl-tdx", TeeType.TDX, IntelVectors.bytes("tdx/dcap-qvl-tdx/tdx_quote"),
                        IntelVectors.dcapQvlCollateral("tdx/dcap-qvl-tdx/tdx_quote_collateral.json"), Instant.ofEpochSecond(1752919234)),
                new Vector("dcap-qvl-tdx-near", TeeType.TDX, IntelVectors.hexFile("tdx/dcap-qvl-tdx-near/quote_hex.txt"),
                        IntelVectors.dcapQvlCollateral("tdx/dcap-qvl-tdx-near/quote_collateral.json"), Instant.ofEpochSecond(1757462400)),
                new Vector("automata-tdx-v4", TeeType.TDX, IntelVectors.bytes("tdx/automata-tdx-v4/sampleQuote_v4.bin"),
                        automata("tdx/automata-tdx-v4/tcbinfov3_00806f050000.json", "tdx/automata-tdx-v4/qe_td.json",
                                "tdx/automata-tdx-v4/platformCrl_0625.der"), Instant.ofEpochSecond(1749095100)),
                new Vector("go-tdx-guest", TeeType.TDX, IntelVectors.bytes("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat"),
                        IntelVectors.goTdxGuestCollateral(IntelVectors.bytes("tdx/go-tdx-guest/sample_tcbInfo_response")),
                        Instant.parse("2023-07-01T01:00:00Z")));
    }

    private record Outcome(boolean ok, String status, List<String> advisoryIds, String error) {}

    @Test
    void javaAndDcapQvlAgreeOnVectorsAndSeededMutations(@TempDir Path tmp) throws Exception {
        Path peer = peerDir();
        assumeTrue(nodeAvailable(), "node is not installed; skipping the dcap-qvl differential test");
        assumeTrue(Files.isDirectory(peer.resolve("node_modules/@phala/dcap-qvl-web")),
                "perf/node/node_modules is absent; run 'npm ci --prefix perf/node' to enable the differential test");

        // Fixed seed for reproducibility; -Dattestmesh.differential.seed=N explores other mutations.
        Random random = new Random(Long.getLong("attestmesh.differential.seed", 0x5eed_dcaL));
        List<String> lines = new ArrayList<>();
        List<Outcome> javaOutcomes = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        for (Vector v : vectors()) {
            byte[] collateralJson = QuoteCollateralJsonWriter.toQuoteCollateralV3(v.collateral());
            Path collFile = tmp.resolve(v.name() + ".json");
            Files.write(collFile, collateralJson);
            // Both sides read the same collateral JSON; the Java side through the request path.
            DcapQuoteVerifier verifier = DcapQuoteVerifier.create(v.tee(), IntelVectors.rootOnly(), CollateralProvider.none());
            for (int i = 0; i <= MUTATIONS; i++) {
                byte[] q = v.quote().clone();
                String label = v.name() + " original";
                if (i > 0) {
                    int pos = random.nextInt(q.length);
                    int xor = 1 + random.nextInt(255);
                    q[pos] ^= (byte) xor;
                    label = v.name() + " byte 0x" + Integer.toHexString(pos) + " ^= 0x" + Integer.toHexString(xor);
                }
                javaOutcomes.add(java(verifier, v.tee(), q, collateralJson, v.at()));
                labels.add(label);
                ObjectNode line = JSON.createObjectNode();
                line.put("id", lines.size());
                line.put("quote", HexFormat.of().formatHex(q));
                line.put("collateral", collFile.toString());
                line.put("now", v.at().getEpochSecond());
                lines.add(JSON.writeValueAsString(line));
            }
        }
        List<Outcome> peerOutcomes = runPeer(peer, lines);
        assertEquals(lines.size(), peerOutcomes.size());
        List<String> disagreements = new ArrayList<>();
        int accepted = 0;
        for (int i = 0; i < lines.size(); i++) {
            Outcome j = javaOutcomes.get(i);
            Outcome p = peerOutcomes.get(i);
            boolean agree = j.ok() == p.ok() && (!j.ok() || (j.status().equals(p.status()) && j.advisoryIds().equals(p.advisoryIds())));
            if (!agree) {
                disagreements.add(labels.get(i) + ": java " + j + " vs dcap-qvl " + p);
            }
            if (j.ok()) {
                accepted++;
            }
        }
        Files.write(Path.of(System.getProperty("user.dir"), "target", "dcap-qvl-differential.txt"), disagreements);
        assertTrue(disagreements.isEmpty(), disagreements.size() + " disagreements:\n" + String.join("\n", disagreements));
        assertTrue(accepted >= 5, "the originals (and padding mutations) must be accepted by both, got " + accepted);
    }

    private static Outcome java(DcapQuoteVerifier v, TeeType tee, byte[] quote, byte[] collateral, Instant at) {
        try {
            VerifiedEvidence e = v.verify(new VerificationRequest(tee, quote, Optional.of(collateral), at));
            return new Outcome(true, e.tcbStatus().intelName(), e.advisoryIds(), null);
        } catch (EvidenceVerificationException e) {
            return new Outcome(false, null, List.of(), e.check() + ": " + e.getMessage());
        }
    }

    private static List<Outcome> runPeer(Path peer, List<String> lines) throws Exception {
        Process p = new ProcessBuilder("node", peer.resolve("verify.mjs").toString())
                .directory(peer.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        Thread writer = Thread.ofVirtual().start(() -> {
            try (OutputStream out = p.getOutputStream()) {
                for (String l : lines) {
                    out.write((l + "\n").getBytes(StandardCharsets.UTF_8));
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        List<Outcome> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String l;
            while ((l = r.readLine()) != null) {
                JsonNode n = JSON.readTree(l);
                List<String> adv = new ArrayList<>();
                n.get("advisoryIds").forEach(a -> adv.add(a.asText()));
                out.add(new Outcome(n.get("ok").asBoolean(), n.get("status").isNull() ? null : n.get("status").asText(),
                        List.copyOf(adv), n.get("error").isNull() ? null : n.get("error").asText()));
            }
        }
        writer.join();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "node peer did not finish");
        assertEquals(0, p.exitValue(), "node peer failed");
        return out;
    }
}
