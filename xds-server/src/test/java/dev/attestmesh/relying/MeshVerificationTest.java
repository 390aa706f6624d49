package dev.attestmesh.relying;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.identity.RegistrationDocuments;
import dev.attestmesh.policy.Policy;
import dev.attestmesh.policy.PolicyDocuments;
import dev.attestmesh.quote.EvidenceVerifier;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.intel.DcapQuoteVerifier;
import dev.attestmesh.quote.collateral.CollateralProvider;
import dev.attestmesh.quote.sim.SimulatedEvidenceVerifier;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.quote.trust.IntelTrustAnchors;
import dev.attestmesh.server.testing.TestMesh;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The relying party's checks against a control plane that lies. The simulated TEE's key is public, so a
 * test can forge any statement a compromised control plane could send; each forgery must be refused by
 * the check that names it, and no trust bundle must come out.
 */
class MeshVerificationTest {
    static final String MEASUREMENT = "d1".repeat(48);
    static final Instant NOW = Instant.now();
    final MeshCa ca = MeshCa.generate("attestmesh.local", Clock.systemUTC());
    final MeshCa other = MeshCa.generate("attestmesh.local", Clock.systemUTC());
    final byte[] nonce = random();

    /** What a (possibly lying) control plane serves: documents, a manifest over them, evidence over that. */
    final class Forgery {
        final Map<String, byte[]> docs = new HashMap<>();
        final Map<String, Object> manifest = new TreeMap<>();
        String measurement = MEASUREMENT;

        Forgery() throws Exception {
            List<Policy> ps = PolicyDocuments.parse(TestMesh.POLICIES, "test");
            docs.put(MeshManifest.TRUST_BUNDLE, Pem.certificates(ca.trustBundle()).getBytes(StandardCharsets.US_ASCII));
            docs.put(MeshManifest.POLICIES, PolicyDocuments.toYaml(ps).getBytes(StandardCharsets.UTF_8));
            var regs = RegistrationDocuments.parse(TestMesh.REGISTRATIONS, "test", "attestmesh.local");
            docs.put(MeshManifest.REGISTRATIONS, RegistrationDocuments.toYaml(regs).getBytes(StandardCharsets.UTF_8));
            docs.put(MeshManifest.MESH_CONFIG, "services: []\n".getBytes(StandardCharsets.UTF_8));
            manifest.put("format", MeshManifest.FORMAT);
            manifest.put("trustDomain", "attestmesh.local");
            manifest.put("insecure", true);
            manifest.put("caKeySealing", MeshManifest.SEALING_OPERATOR);
            manifest.put("rootCertificateSha256", MeshManifest.sha256Hex(ca.root().getEncoded()));
            List<Object> pe = new ArrayList<>();
            for (Policy p : ps) {
                pe.add(Map.of("id", p.id(), "version", p.version(),
                        "sha256", MeshManifest.sha256Hex(PolicyDocuments.toYaml(List.of(p)))));
            }
            manifest.put("policies", pe);
            List<Object> re = new ArrayList<>();
            for (var r : regs) {
                re.add(Map.of("id", r.id(), "version", r.version(), "spiffeId", r.spiffeId(), "policies", r.policies(),
                        "sha256", MeshManifest.sha256Hex(RegistrationDocuments.toYaml(List.of(r)))));
            }
            manifest.put("registrations", re);
            manifest.put("meshConfig", Map.of("version", 1L, "sha256", MeshManifest.sha256Hex(docs.get(MeshManifest.MESH_CONFIG))));
            manifest.put("checkpoint", null);
        }

        /** Recomputes the documents' digests into the manifest (what a liar does to stay consistent). */
        byte[] manifestBytes() {
            Map<String, Object> d = new TreeMap<>();
            docs.forEach((k, v) -> d.put(k, MeshManifest.sha256Hex(v)));
            manifest.put("documents", d);
            return CanonicalJson.encode(manifest);
        }

        MeshVerification.Statement statement(byte[] forNonce, byte[] manifestBytes) throws Exception {
            byte[] reportData = MeshManifest.reportData(MeshManifest.sha256(manifestBytes), forNonce);
            byte[] evidence = SimulatedTee.withMeasurementHex(measurement).collect(reportData);
            return new MeshVerification.Statement(2, "sim", evidence, forNonce, manifestBytes,
                    MeshManifest.sha256Hex(manifestBytes));
        }

        MeshVerification.DocumentSource source() {
            return (name, digest) -> {
                byte[] b = docs.get(name);
                if (b == null) {
                    throw new IOException("404 " + name);
                }
                return b;
            };
        }
    }

    static byte[] random() {
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return b;
    }

    static MeshVerification verifier(Optional<String> measurement, List<Policy> policies, boolean allowSim) {
        return new MeshVerification(new MeshVerification.Verifiers() {
            @Override
            public EvidenceVerifier verifier(TeeType tee) {
                return SimulatedEvidenceVerifier.withDefaultKey();
            }

            @Override
            public Optional<byte[]> suppliedCollateral(TeeType tee) {
                return Optional.empty();
            }
        }, new MeshVerification.Expectations(measurement, policies, Optional.empty(), allowSim), NOW);
    }

    static MeshVerification expecting(String measurement) {
        return verifier(Optional.of(measurement), List.of(), true);
    }

    static void assertRefusedAt(String check, String detailPart, MeshVerification.Report r) {
        assertFalse(r.verified(), "must be refused: " + r.checks());
        assertTrue(r.trustBundlePem().isEmpty(), "no trust bundle on failure");
        MeshVerification.Check f = r.firstFailure().orElseThrow();
        assertEquals(check, f.name(), f.detail());
        assertTrue(f.detail().contains(detailPart), f.detail());
    }

    @Test
    void anHonestManifestVerifiesAndYieldsTheTrustBundle() throws Exception {
        Forgery f = new Forgery();
        byte[] m = f.manifestBytes();
        MeshVerification.Report r = expecting(MEASUREMENT).verify(nonce, f.statement(nonce, m), f.source());
        assertTrue(r.verified(), r.checks().toString());
        assertEquals(Pem.certificates(ca.trustBundle()), r.trustBundlePem().orElseThrow());
        assertTrue(r.insecure());
        assertEquals(MeshVerification.CHECKS, r.checks().stream().map(MeshVerification.Check::name).toList());
    }

    @Test
    void refusesATrustBundleWhoseRootIsNotTheAttestedOne() throws Exception {
        Forgery f = new Forgery();
        // the liar keeps the genuine root hash in the manifest but serves (and digests) another CA's bundle
        f.docs.put(MeshManifest.TRUST_BUNDLE, Pem.certificates(other.trustBundle()).getBytes(StandardCharsets.US_ASCII));
        byte[] m = f.manifestBytes();
        assertRefusedAt("trust-bundle", "substituted", expecting(MEASUREMENT).verify(nonce, f.statement(nonce, m), f.source()));
    }

    @Test
    void refusesABundleCertificateThatDoesNotChainToTheAttestedRoot() throws Exception {
        Forgery f = new Forgery();
        f.docs.put(MeshManifest.TRUST_BUNDLE, Pem.certificates(List.of(ca.root(), other.issuingIntermediate()))
                .getBytes(StandardCharsets.US_ASCII));
        byte[] m = f.manifestBytes();
        assertRefusedAt("trust-bundle", "does not chain to the attested root",
                expecting(MEASUREMENT).verify(nonce, f.statement(nonce, m), f.source()));
    }

    @Test
    void refusesAManifestThatDiffersFromItsDigest() throws Exception {
        Forgery f = new Forgery();
        byte[] m = f.manifestBytes();
        MeshVerification.Statement honest = f.statement(nonce, m);
        f.manifest.put("caKeySealing", MeshManifest.SEALING_SNP); // claim a sealing the TEE never attested
        byte[] altered = f.manifestBytes();
        MeshVerification.Statement swapped = new MeshVerification.Statement(2, "sim", honest.evidence(), nonce, altered,
                honest.manifestSha256());
        assertRefusedAt("manifest", "but the statement claims", expecting(MEASUREMENT).verify(nonce, swapped, f.source()));
        // the liar also fixes up the claimed digest: the evidence still binds the original manifest
        MeshVerification.Statement fixed = new MeshVerification.Statement(2, "sim", honest.evidence(), nonce, altered,
                MeshManifest.sha256Hex(altered));
        assertRefusedAt("report-data-binding", "not produced for this manifest",
                expecting(MEASUREMENT).verify(nonce, fixed, f.source()));
    }

    @Test
    void refusesAStatementReplayedForANewNonce() throws Exception {
        Forgery f = new Forgery();
        byte[] m = f.manifestBytes();
        byte[] old = random();
        MeshVerification.Statement recorded = f.statement(old, m);
        assertRefusedAt("statement", "replayed", expecting(MEASUREMENT).verify(nonce, recorded, f.source()));
        // the replayer rewrites the echoed nonce: the evidence's report data still binds the old one
        MeshVerification.Statement rewritten = new MeshVerification.Statement(2, "sim", recorded.evidence(), nonce,
                recorded.manifest(), recorded.manifestSha256());
        assertRefusedAt("report-data-binding", "not produced for this manifest and this request",
                expecting(MEASUREMENT).verify(nonce, rewritten, f.source()));
    }

    @Test
    void refusesAWrongMeasurement() throws Exception {
        Forgery f = new Forgery();
        f.measurement = "e2".repeat(48);
        byte[] m = f.manifestBytes();
        assertRefusedAt("measurement", "expected " + MEASUREMENT,
                expecting(MEASUREMENT).verify(nonce, f.statement(nonce, m), f.source()));
    }

    @Test
    void refusesADocumentAlteredAfterTheManifest() throws Exception {
        Forgery f = new Forgery();
        byte[] m = f.manifestBytes();
        MeshVerification.Statement st = f.statement(nonce, m);
        f.docs.put(MeshManifest.POLICIES, new String(f.docs.get(MeshManifest.POLICIES), StandardCharsets.UTF_8)
                .replace(TestMesh.STRICT, "ff".repeat(48)).getBytes(StandardCharsets.UTF_8));
        assertRefusedAt("documents", "policies document has SHA-256", expecting(MEASUREMENT).verify(nonce, st, f.source()));
    }

    @Test
    void refusesAManifestEntryThatDoesNotDescribeItsDocument() throws Exception {
        Forgery f = new Forgery();
        // the manifest's per-policy digest lies while the whole document's digest is consistent
        f.manifest.put("policies", List.of(Map.of("id", "default", "version", 1L, "sha256", "00".repeat(32)),
                Map.of("id", "strict", "version", 1L, "sha256", "00".repeat(32))));
        byte[] m = f.manifestBytes();
        assertRefusedAt("manifest-entries", "policy default",
                expecting(MEASUREMENT).verify(nonce, f.statement(nonce, m), f.source()));
    }

    @Test
    void refusesANonCanonicalManifestEvenWhenBound() throws Exception {
        Forgery f = new Forgery();
        byte[] m = (new String(f.manifestBytes(), StandardCharsets.UTF_8).replace(",", ", ")).getBytes(StandardCharsets.UTF_8);
        assertRefusedAt("manifest", "canonical", expecting(MEASUREMENT).verify(nonce, f.statement(nonce, m), f.source()));
    }

    @Test
    void refusesTheSimulatedTeeUnlessAllowed() throws Exception {
        Forgery f = new Forgery();
        byte[] m = f.manifestBytes();
        assertRefusedAt("tee", "SIMULATED", verifier(Optional.of(MEASUREMENT), List.of(), false)
                .verify(nonce, f.statement(nonce, m), f.source()));
    }

    @Test
    void refusesAnUnexpectedManifestDigest() throws Exception {
        Forgery f = new Forgery();
        byte[] m = f.manifestBytes();
        MeshVerification v = new MeshVerification(new MeshVerification.Verifiers() {
            @Override
            public EvidenceVerifier verifier(TeeType tee) {
                return SimulatedEvidenceVerifier.withDefaultKey();
            }

            @Override
            public Optional<byte[]> suppliedCollateral(TeeType tee) {
                return Optional.empty();
            }
        }, new MeshVerification.Expectations(Optional.of(MEASUREMENT), List.of(), Optional.of("ab".repeat(32)), true), NOW);
        assertRefusedAt("manifest", "not the expected", v.verify(nonce, f.statement(nonce, m), f.source()));
    }

    @Test
    void appraisesAgainstAnExpectedPolicy() throws Exception {
        Forgery f = new Forgery();
        byte[] m = f.manifestBytes();
        List<Policy> wants = PolicyDocuments.parse("""
                policies:
                  - id: control-plane
                    tee: [sim]
                    reference:
                      sim:
                        measurement: ["%s"]
                """.formatted(MEASUREMENT), "expected");
        assertTrue(verifier(Optional.empty(), wants, true).verify(nonce, f.statement(nonce, m), f.source()).verified());
        List<Policy> other = PolicyDocuments.parse("""
                policies:
                  - id: control-plane
                    tee: [sim]
                    reference:
                      sim:
                        measurement: ["%s"]
                """.formatted("f0".repeat(48)), "expected");
        assertRefusedAt("measurement", "control-plane", verifier(Optional.empty(), other, true)
                .verify(nonce, f.statement(nonce, m), f.source()));
    }

    /**
     * Real evidence of each TEE type from the vectors: the quote or report verifies completely (signatures,
     * chains to the pinned Intel or AMD roots, collateral, TCB), but its report data was made by someone else's
     * software, not for this manifest and nonce: verification stops at exactly that binding check.
     */
    MeshVerification.Report vector(TeeType tee, Path evidence, byte[] collateral, EvidenceVerifier verifier,
            String measurement, String at) throws Exception {
        Forgery f = new Forgery();
        f.manifest.put("insecure", false);
        byte[] m = f.manifestBytes();
        MeshVerification verification = new MeshVerification(new MeshVerification.Verifiers() {
            @Override
            public EvidenceVerifier verifier(TeeType t) {
                return verifier;
            }

            @Override
            public Optional<byte[]> suppliedCollateral(TeeType t) {
                return Optional.of(collateral);
            }
        }, new MeshVerification.Expectations(Optional.of(measurement), List.of(), Optional.empty(), false), Instant.parse(at));
        MeshVerification.Report r = verification.verify(nonce, new MeshVerification.Statement(2, tee.wireName(),
                Files.readAllBytes(evidence), nonce, m, MeshManifest.sha256Hex(m)), f.source());
        MeshVerification.Check ev = r.checks().stream().filter(c -> c.name().equals("evidence")).findFirst().orElseThrow();
        assertTrue(ev.passed(), ev.detail());
        assertRefusedAt("report-data-binding", "not produced for this manifest", r);
        assertFalse(r.insecure());
        assertEquals(measurement, r.measurement().orElseThrow());
        return r;
    }

    static Path vectors() {
        Path v = Path.of(System.getProperty("attestmesh.vectors", "../shared/vectors"));
        assumeTrue(Files.isDirectory(v.resolve("sgx")), "vectors not found at " + v);
        return v;
    }

    @Test
    void aRealTdxQuoteVerifiesButItsReportDataDoesNotBindTheManifest() throws Exception {
        Path v = vectors();
        IntelTrustAnchors anchors = IntelTrustAnchors.fromRootDer(Files.readAllBytes(v.resolve("roots/dcap-qvl_TrustedRootCA.der")));
        MeshVerification.Report r = vector(TeeType.TDX, v.resolve("tdx/dcap-qvl-tdx/tdx_quote"),
                Files.readAllBytes(v.resolve("tdx/dcap-qvl-tdx/tdx_quote_collateral.json")),
                DcapQuoteVerifier.create(TeeType.TDX, anchors, CollateralProvider.none()),
                "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7",
                "2025-07-19T10:00:34Z");
        assertTrue(r.checks().get(3).detail().contains("UpToDate"), r.checks().get(3).detail());
    }

    @Test
    void aRealSnpReportVerifiesButItsReportDataDoesNotBindTheManifest() throws Exception {
        Path v = vectors();
        vector(TeeType.SNP, v.resolve("snp/go-sev-guest-milan/attestation.bin"),
                Files.readAllBytes(v.resolve("snp/go-sev-guest-milan/vcek.testcer")),
                dev.attestmesh.quote.snp.SnpReportVerifier.create(dev.attestmesh.quote.trust.AmdTrustAnchors.fromDirectory(
                        v.resolve("roots/amd")), dev.attestmesh.quote.snp.VcekProvider.none()),
                "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01",
                "2025-01-01T00:00:00Z");
    }

    /**
     * Real SGX evidence: the dcap-qvl vector's quote verifies completely (signatures, PCK chain, TCB), but its
     * report data is "Hello, world!", not this binding: verification stops at exactly that check.
     */
    @Test
    void aRealSgxQuoteVerifiesButItsReportDataDoesNotBindTheManifest() throws Exception {
        Path v = Path.of(System.getProperty("attestmesh.vectors", "../shared/vectors"));
        assumeTrue(Files.isDirectory(v.resolve("sgx")), "vectors not found at " + v);
        Forgery f = new Forgery();
        f.manifest.put("insecure", false);
        byte[] m = f.manifestBytes();
        byte[] quote = Files.readAllBytes(v.resolve("sgx/dcap-qvl-sgx/sgx_quote"));
        byte[] collateral = Files.readAllBytes(v.resolve("sgx/dcap-qvl-sgx/sgx_quote_collateral.json"));
        IntelTrustAnchors anchors = IntelTrustAnchors.fromRootDer(Files.readAllBytes(v.resolve("roots/dcap-qvl_TrustedRootCA.der")));
        MeshVerification verification = new MeshVerification(new MeshVerification.Verifiers() {
            @Override
            public EvidenceVerifier verifier(TeeType tee) {
                return DcapQuoteVerifier.create(tee, anchors, CollateralProvider.none());
            }

            @Override
            public Optional<byte[]> suppliedCollateral(TeeType tee) {
                return Optional.of(collateral);
            }
        }, new MeshVerification.Expectations(Optional.of("33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb"),
                List.of(), Optional.empty(), false), Instant.parse("2025-07-19T10:01:17Z"));
        MeshVerification.Report r = verification.verify(nonce, new MeshVerification.Statement(2, "sgx", quote, nonce, m,
                MeshManifest.sha256Hex(m)), f.source());
        MeshVerification.Check evidence = r.checks().stream().filter(c -> c.name().equals("evidence")).findFirst()
                .orElseThrow();
        assertTrue(evidence.passed(), evidence.detail());
        assertTrue(evidence.detail().contains("ConfigurationAndSWHardeningNeeded"), evidence.detail());
        assertRefusedAt("report-data-binding", HexFormat.of().formatHex("Hello, world!".getBytes(StandardCharsets.US_ASCII)), r);
        assertFalse(r.insecure());
    }
}
