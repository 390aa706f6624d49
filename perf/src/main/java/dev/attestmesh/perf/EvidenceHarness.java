package dev.attestmesh.perf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.collateral.CollateralEncodings;
import dev.attestmesh.quote.collateral.CollateralJsonParser;
import dev.attestmesh.quote.collateral.CollateralProvider;
import dev.attestmesh.quote.intel.DcapQuote;
import dev.attestmesh.quote.intel.DcapQuoteVerifier;
import dev.attestmesh.quote.trust.EcdsaP256;
import dev.attestmesh.quote.sgx.SgxQuoteParser;
import dev.attestmesh.quote.tdx.TdxQuoteParser;
import dev.attestmesh.quote.trust.IntelTrustAnchors;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Evidence verification performance (JMH, driven programmatically), against real vectors from
 * {@code attestmesh.vectors} (default {@code ../shared/vectors}):
 *
 * <ul>
 *   <li><b>cold</b>: a new {@link DcapQuoteVerifier} per call and collateral JSON with the request,
 *       so nothing is cached: PCK chain, CRLs, TCB Info / QE Identity signatures and JSON parsing
 *       are all paid (JIT warm, as in a long-running control plane meeting a new platform);
 *   <li><b>warm</b>: one verifier whose PCK chain and verified collateral are cached, as for a
 *       platform that re-attests; the quote signature, QE report signature, QE report binding, every
 *       validity window and the TCB evaluation still run on every call;
 *   <li><b>floor</b>: just the two ECDSA P-256 verifications a warm call cannot avoid (quote and QE
 *       report), timed in the same run, so {@code warmRatioToFloor} shows the overhead above the
 *       cryptography;
 *   <li><b>peer</b>: {@code @phala/dcap-qvl-web} (Rust compiled to WebAssembly) on the same quote
 *       and collateral, timed inside node over many iterations by {@code perf/node/verify.mjs bench}
 *       (it caches nothing, so it compares with cold), and {@code @phala/dcap-qvl} (the pure JavaScript
 *       verifier, {@code bench ... js}) likewise; the cold target is at least 3x faster than the JS peer.
 * </ul>
 *
 * Timing is per call (JMH sample mode); the reported figure is the median, which resists other
 * processes on a shared machine, with mean and p90 in the table. Prints a table and then one JSON
 * line with {@code coldMsSgx}, {@code coldMsTdx}, {@code
 * warmMsSgx}, {@code warmMsTdx}, {@code snpMs}, {@code peerColdMsSgx}, {@code peerColdMsTdx}, {@code peerJsColdMsSgx}, {@code peerJsColdMsTdx},
 * {@code warmRatioToFloor} (the larger of the SGX and TDX ratios), {@code azureVtpmMs} and {@code snpCrlMs} with
 * their ratios to their floors (Azure vTPM: ECDSA P-384 + RSA-2048; SNP with CRL: ECDSA P-384 + RSA-4096
 * PSS); -1 marks what could not be
 * measured. Argument {@code --quick} shortens the JMH iterations.
 */
public final class EvidenceHarness {
    private static final String SGX_QUOTE = "sgx/dcap-qvl-sgx/sgx_quote";
    private static final String SGX_COLLATERAL = "sgx/dcap-qvl-sgx/sgx_quote_collateral.json";
    private static final Instant SGX_AT = Instant.ofEpochSecond(1752919277);
    private static final String TDX_QUOTE = "tdx/dcap-qvl-tdx/tdx_quote";
    private static final String TDX_COLLATERAL = "tdx/dcap-qvl-tdx/tdx_quote_collateral.json";
    private static final Instant TDX_AT = Instant.ofEpochSecond(1752919234);

    private EvidenceHarness() {}

    static Path vectors() {
        String p = System.getProperty("attestmesh.vectors");
        for (Path c : new Path[] {p == null ? null : Path.of(p), Path.of("../shared/vectors"), Path.of("/work/shared/vectors")}) {
            if (c != null && Files.isDirectory(c.resolve("sgx"))) {
                return c.toAbsolutePath().normalize();
            }
        }
        throw new IllegalStateException("test vectors not found: pass -Dattestmesh.vectors=<dir>");
    }

    /** One TEE's inputs, prepared outside the timed region. */
    static final class Inputs {
        final TeeType tee;
        final byte[] quote;
        final byte[] collateralJson;
        final Instant at;
        final IntelTrustAnchors anchors;
        final DcapQuoteVerifier warm;
        final byte[] signedBytes;
        final byte[] quoteSignature;
        final byte[] qeReport;
        final byte[] qeReportSignature;
        final EcdsaP256.VerifyingKey attestationKey;
        final EcdsaP256.VerifyingKey pckKey;

        Inputs(TeeType tee, String quotePath, String collateralPath, Instant at) throws Exception {
            Path v = vectors();
            this.tee = tee;
            this.quote = Files.readAllBytes(v.resolve(quotePath));
            this.collateralJson = Files.readAllBytes(v.resolve(collateralPath));
            this.at = at;
            this.anchors = IntelTrustAnchors.fromRootDer(Files.readAllBytes(v.resolve("roots/automata/rootCaDer.der")));
            this.warm = DcapQuoteVerifier.create(tee, anchors,
                    CollateralProvider.fixed(CollateralJsonParser.quoteCollateralV3(collateralJson)));
            this.warm.verify(VerificationRequest.of(tee, quote, at)); // fills the caches; fails fast if broken
            DcapQuote q = tee == TeeType.SGX ? SgxQuoteParser.parse(quote) : TdxQuoteParser.parse(quote);
            this.signedBytes = q.signedBytes();
            this.quoteSignature = q.signatureData().quoteSignature();
            this.qeReport = q.signatureData().qeReport().raw();
            this.qeReportSignature = q.signatureData().qeReportSignature();
            this.attestationKey = EcdsaP256.fromRaw(q.signatureData().attestationKey()).orElseThrow();
            byte[] leafDer = CollateralEncodings.pemCertificateBlocks(q.signatureData().certificationData()).get(0);
            this.pckKey = EcdsaP256.fromPublicKey(CollateralEncodings.certificate(leafDer).getPublicKey()).orElseThrow();
        }

        VerifiedEvidence cold() throws Exception {
            return DcapQuoteVerifier.create(tee, anchors, CollateralProvider.none())
                    .verify(new VerificationRequest(tee, quote, Optional.of(collateralJson), at));
        }

        VerifiedEvidence warm() throws Exception {
            return warm.verify(VerificationRequest.of(tee, quote, at));
        }

        boolean floor() {
            return EcdsaP256.verifyRaw(attestationKey, signedBytes, quoteSignature)
                    & EcdsaP256.verifyRaw(pckKey, qeReport, qeReportSignature);
        }
    }

    /** SEV-SNP: the go-sev-guest Milan report with its VCEK, the chain cached after the first call. */
    static final class SnpInputs {
        final byte[] report;
        final byte[] vcek;
        final Instant at = Instant.parse("2025-01-01T00:00:00Z");
        final dev.attestmesh.quote.snp.SnpReportVerifier verifier;
        final byte[] signedBytes;
        final java.math.BigInteger r;
        final java.math.BigInteger s;
        final org.bouncycastle.crypto.params.ECPublicKeyParameters key;

        SnpInputs() throws Exception {
            Path v = vectors();
            report = Files.readAllBytes(v.resolve("snp/go-sev-guest-milan/attestation.bin"));
            vcek = Files.readAllBytes(v.resolve("snp/go-sev-guest-milan/vcek.testcer"));
            verifier = dev.attestmesh.quote.snp.SnpReportVerifier.create(
                    dev.attestmesh.quote.trust.AmdTrustAnchors.fromDirectory(v.resolve("roots/amd")),
                    dev.attestmesh.quote.snp.VcekProvider.none());
            verify(); // fills the caches; fails fast if broken
            var parsed = dev.attestmesh.quote.snp.SnpReport.parse(report);
            signedBytes = parsed.signedBytes();
            r = new java.math.BigInteger(1, parsed.signatureR());
            s = new java.math.BigInteger(1, parsed.signatureS());
            var pub = (java.security.interfaces.ECPublicKey) dev.attestmesh.quote.snp.AmdCertificateDecoder
                    .decodeDer(vcek).getPublicKey();
            var spec = org.bouncycastle.asn1.sec.SECNamedCurves.getByName("secp384r1");
            var domain = new org.bouncycastle.crypto.params.ECDomainParameters(spec.getCurve(), spec.getG(),
                    spec.getN(), spec.getH());
            key = new org.bouncycastle.crypto.params.ECPublicKeyParameters(spec.getCurve().createPoint(
                    pub.getW().getAffineX(), pub.getW().getAffineY()), domain);
        }

        VerifiedEvidence verify() throws Exception {
            return verifier.verify(new VerificationRequest(TeeType.SNP, report, Optional.of(vcek), at));
        }

        /** The floor: the one ECDSA P-384 verification (BouncyCastle, as the verifier uses) over the report. */
        boolean floor() throws Exception {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-384").digest(signedBytes);
            var signer = new org.bouncycastle.crypto.signers.ECDSASigner();
            signer.init(false, key);
            return signer.verifySignature(digest, r, s);
        }
    }

    /**
     * Azure SEV-SNP vTPM: Trustee's Genoa evidence, the SNP chain cached after the first call. Each call
     * still parses the JSON and the HCL report, and checks the SNP report signature (ECDSA P-384), the
     * runtime-claims binding, the vTPM quote signature (RSA-2048 PKCS#1 v1.5) and the PCR digest.
     */
    static final class AzureInputs {
        final byte[] evidence;
        final Instant at = Instant.parse("2025-06-01T00:00:00Z");
        final dev.attestmesh.quote.azure.AzureVtpmVerifier verifier;
        final byte[] snpSigned;
        final java.security.PublicKey vcekKey;
        final byte[] snpSignature;
        final byte[] quoteMessage;
        final byte[] quoteSignature;
        final java.security.PublicKey ak;

        AzureInputs() throws Exception {
            Path v = vectors();
            evidence = Files.readAllBytes(v.resolve("snp/trustee-azure-genoa/evidence-genoa.json"));
            verifier = dev.attestmesh.quote.azure.AzureVtpmVerifier.create(dev.attestmesh.quote.snp.SnpReportVerifier.create(
                    dev.attestmesh.quote.trust.AmdTrustAnchors.fromDirectory(v.resolve("roots/amd")),
                    dev.attestmesh.quote.snp.VcekProvider.none()));
            verify(); // fills the caches; fails fast if broken
            var ev = dev.attestmesh.quote.azure.AzureVtpmEvidence.parse(evidence);
            var hcl = dev.attestmesh.quote.snp.AzureHclReport.parse(ev.hclReport());
            snpSigned = hcl.snpReport().signedBytes();
            snpSignature = hcl.snpReport().signatureP1363();
            vcekKey = dev.attestmesh.quote.snp.AmdCertificateDecoder.decodeAll(
                    ev.vcekPem().orElseThrow().getBytes(StandardCharsets.US_ASCII)).getFirst().getPublicKey();
            quoteMessage = ev.quoteMessage();
            quoteSignature = ev.quoteSignature();
            ak = dev.attestmesh.quote.azure.HclRuntimeClaims.parse(hcl.variableData()).attestationKey();
        }

        VerifiedEvidence verify() throws Exception {
            return verifier.verify(VerificationRequest.of(TeeType.AZ_SNP_VTPM, evidence, at));
        }

        /** The floor: the SNP report's ECDSA P-384 and the vTPM quote's RSA-2048 verification. */
        boolean floor() throws Exception {
            java.security.Signature p384 = java.security.Signature.getInstance("SHA384withPLAIN-ECDSA", BC);
            p384.initVerify(vcekKey);
            p384.update(snpSigned);
            java.security.Signature rsa = java.security.Signature.getInstance("SHA256withRSA");
            rsa.initVerify(ak);
            rsa.update(quoteMessage);
            return p384.verify(snpSignature) & rsa.verify(quoteSignature);
        }
    }

    private static final java.security.Provider BC = new org.bouncycastle.jce.provider.BouncyCastleProvider();

    /**
     * SEV-SNP with revocation: the Milan report verified with its chain cached and AMD's CRL checked on
     * every call (parse cached; ARK RSA-4096 PSS signature, window and serials each time). With {@code
     * -Dattestmesh.amd.crl-dir=<dir holding crl-Milan.der from KDS>} this is the real verifier end to
     * end; without it, the verifier's result plus {@link dev.attestmesh.quote.snp.AmdCrl#check} on a
     * constructed CRL signed by an RSA-4096 key standing in for the ARK (the same check, the same cost).
     */
    static final class SnpCrlInputs {
        final SnpInputs snp;
        final dev.attestmesh.quote.snp.SnpReportVerifier realCrlVerifier;
        final java.security.cert.X509CRL standInCrl;
        final java.security.KeyPair standInArk;
        final javax.security.auth.x500.X500Principal arkName = new javax.security.auth.x500.X500Principal("CN=ARK-Milan");
        final java.util.List<java.security.cert.X509Certificate> checked;
        final java.security.cert.X509Certificate arkCert;
        final byte[] crlTbs;
        final byte[] crlSignature;

        SnpCrlInputs(SnpInputs snp) throws Exception {
            this.snp = snp;
            Path v = vectors();
            String dir = System.getProperty("attestmesh.amd.crl-dir", "");
            dir = dir.isBlank() ? null : dir;
            var vcek = dev.attestmesh.quote.snp.AmdCertificateDecoder.decodeDer(snp.vcek);
            var anchors = dev.attestmesh.quote.trust.AmdTrustAnchors.fromDirectory(v.resolve("roots/amd"));
            var chain = anchors.chain(dev.attestmesh.quote.snp.SnpProduct.MILAN, dev.attestmesh.quote.snp.SnpSigningKey.VCEK);
            checked = java.util.List.of(chain.intermediate(), vcek);
            arkCert = chain.ark();
            var g = java.security.KeyPairGenerator.getInstance("RSA");
            g.initialize(4096);
            standInArk = g.generateKeyPair();
            var b = new org.bouncycastle.cert.X509v2CRLBuilder(org.bouncycastle.asn1.x500.X500Name.getInstance(
                    arkName.getEncoded()), java.util.Date.from(snp.at.minusSeconds(3600)));
            b.setNextUpdate(java.util.Date.from(snp.at.plusSeconds(86400)));
            b.addCRLEntry(java.math.BigInteger.valueOf(4242), java.util.Date.from(snp.at.minusSeconds(3600)), 1);
            byte[] der = b.build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA384WITHRSAANDMGF1")
                    .setProvider(BC).build(standInArk.getPrivate())).getEncoded();
            standInCrl = dev.attestmesh.quote.snp.AmdCrl.parse(der);
            crlTbs = standInCrl.getTBSCertList();
            crlSignature = standInCrl.getSignature();
            realCrlVerifier = dir == null ? null : dev.attestmesh.quote.snp.SnpReportVerifier.create(anchors,
                    dev.attestmesh.quote.snp.VcekProvider.none(), dev.attestmesh.quote.snp.SnpVerifierOptions.none()
                            .withCrls(new dev.attestmesh.quote.snp.FileAmdCrlProvider(Path.of(dir))));
            verify();
        }

        Object verify() throws Exception {
            if (realCrlVerifier != null) {
                return realCrlVerifier.verify(new VerificationRequest(TeeType.SNP, snp.report, Optional.of(snp.vcek), snp.at));
            }
            VerifiedEvidence e = snp.verify();
            dev.attestmesh.quote.snp.AmdCrl.check(standInCrl, arkName, standInArk.getPublic(), checked, snp.at);
            return e;
        }

        /** The floor: the report's ECDSA P-384 plus the CRL's RSA-4096 PSS verification. */
        boolean floor() throws Exception {
            java.security.Signature pss = java.security.Signature.getInstance("RSASSA-PSS");
            pss.setParameter(new java.security.spec.PSSParameterSpec("SHA-384", "MGF1",
                    java.security.spec.MGF1ParameterSpec.SHA384, 48, 1));
            pss.initVerify(standInArk.getPublic());
            pss.update(crlTbs);
            return snp.floor() & pss.verify(crlSignature);
        }
    }

    /** JMH state holding both TEEs' inputs. */
    @State(Scope.Benchmark)
    public static class Vectors {
        Inputs sgx;
        Inputs tdx;
        SnpInputs snp;
        AzureInputs azure;
        SnpCrlInputs snpCrl;

        @Setup(Level.Trial)
        public void load() throws Exception {
            sgx = new Inputs(TeeType.SGX, SGX_QUOTE, SGX_COLLATERAL, SGX_AT);
            tdx = new Inputs(TeeType.TDX, TDX_QUOTE, TDX_COLLATERAL, TDX_AT);
            snp = new SnpInputs();
            azure = new AzureInputs();
            snpCrl = new SnpCrlInputs(snp);
            // Run every path before any benchmark so the JIT has compiled the shared code (parsers,
            // BouncyCastle field arithmetic) whichever benchmark happens to run first.
            for (int i = 0; i < 300; i++) {
                sgx.cold();
                tdx.cold();
            }
            for (int i = 0; i < 3000; i++) {
                sgx.warm();
                tdx.warm();
                sgx.floor();
                tdx.floor();
            }
            for (int i = 0; i < 1000; i++) {
                snp.verify();
                snp.floor();
                azure.verify();
                azure.floor();
                snpCrl.verify();
                snpCrl.floor();
            }
        }
    }

    /** JMH benchmarks; names are read back by {@link #main}. */
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public static class Benchmarks {
        @Benchmark
        public VerifiedEvidence coldSgx(Vectors v) throws Exception {
            return v.sgx.cold();
        }

        @Benchmark
        public VerifiedEvidence coldTdx(Vectors v) throws Exception {
            return v.tdx.cold();
        }

        @Benchmark
        public VerifiedEvidence warmSgx(Vectors v) throws Exception {
            return v.sgx.warm();
        }

        @Benchmark
        public VerifiedEvidence warmTdx(Vectors v) throws Exception {
            return v.tdx.warm();
        }

        @Benchmark
        public boolean floorSgx(Vectors v) {
            return v.sgx.floor();
        }

        @Benchmark
        public boolean floorTdx(Vectors v) {
            return v.tdx.floor();
        }

        @Benchmark
        public VerifiedEvidence snpCachedChain(Vectors v) throws Exception {
            return v.snp.verify();
        }

        @Benchmark
        public boolean floorSnp(Vectors v) throws Exception {
            return v.snp.floor();
        }

        @Benchmark
        public VerifiedEvidence azureVtpm(Vectors v) throws Exception {
            return v.azure.verify();
        }

        @Benchmark
        public boolean floorAzureVtpm(Vectors v) throws Exception {
            return v.azure.floor();
        }

        @Benchmark
        public Object snpWithCrl(Vectors v) throws Exception {
            return v.snpCrl.verify();
        }

        @Benchmark
        public boolean floorSnpWithCrl(Vectors v) throws Exception {
            return v.snpCrl.floor();
        }
    }

    public static void main(String[] args) throws Exception {
        boolean quick = List.of(args).contains("--quick");
        Path vectors = vectors();
        new Inputs(TeeType.SGX, SGX_QUOTE, SGX_COLLATERAL, SGX_AT); // fail before JMH if vectors are unusable
        Options opts = new OptionsBuilder()
                .include(Benchmarks.class.getName().replace("$", ".") + ".*")
                .forks(1)
                .warmupIterations(quick ? 2 : 4)
                .warmupTime(TimeValue.milliseconds(quick ? 500 : 1000))
                .measurementIterations(quick ? 3 : 5)
                .measurementTime(TimeValue.milliseconds(quick ? 500 : 1000))
                .jvmArgsAppend("-Dattestmesh.vectors=" + vectors, "-Xmx1g", "-Dattestmesh.amd.crl-dir="
                        + System.getProperty("attestmesh.amd.crl-dir", ""))
                .shouldFailOnError(true)
                .build();
        Collection<RunResult> results = new Runner(opts).run();
        // Per-call samples: the median resists other processes on a shared machine; the mean is shown too.
        Map<String, double[]> us = new LinkedHashMap<>();
        for (RunResult r : results) {
            String label = r.getParams().getBenchmark();
            String name = label.substring(label.lastIndexOf('.') + 1);
            var stats = r.getPrimaryResult().getStatistics();
            us.put(name, new double[] {stats.getPercentile(50), stats.getMean(), stats.getPercentile(90)});
        }

        double peerSgx = peerMs(vectors.resolve(SGX_QUOTE), vectors.resolve(SGX_COLLATERAL), SGX_AT, "web");
        double peerTdx = peerMs(vectors.resolve(TDX_QUOTE), vectors.resolve(TDX_COLLATERAL), TDX_AT, "web");
        double peerJsSgx = peerMs(vectors.resolve(SGX_QUOTE), vectors.resolve(SGX_COLLATERAL), SGX_AT, "js");
        double peerJsTdx = peerMs(vectors.resolve(TDX_QUOTE), vectors.resolve(TDX_COLLATERAL), TDX_AT, "js");
        double snp = ms(us, "snpCachedChain");
        double snpFloor = ms(us, "floorSnp");

        double coldSgx = ms(us, "coldSgx");
        double coldTdx = ms(us, "coldTdx");
        double warmSgx = ms(us, "warmSgx");
        double warmTdx = ms(us, "warmTdx");
        double floorSgx = ms(us, "floorSgx");
        double floorTdx = ms(us, "floorTdx");
        double ratio = Math.max(warmSgx / floorSgx, warmTdx / floorTdx);

        System.out.println();
        System.out.println("Evidence verification (" + Runtime.getRuntime().availableProcessors() + " CPUs, "
                + System.getProperty("java.vm.name") + " " + Runtime.version() + ")");
        System.out.printf(Locale.ROOT, "%-44s %10s %10s %10s %10s%n", "measurement (ms per verification)", "median",
                "mean", "p90", "target");
        row("SGX cold (new verifier, nothing cached)", us.get("coldSgx"), "<= 2");
        row("TDX cold (new verifier, nothing cached)", us.get("coldTdx"), "<= 2");
        row("SGX warm (chain + collateral cached)", us.get("warmSgx"), "<= 0.25");
        row("TDX warm (chain + collateral cached)", us.get("warmTdx"), "<= 0.25");
        row("SGX floor (2 x ECDSA P-256 verify)", us.get("floorSgx"), "");
        row("TDX floor (2 x ECDSA P-256 verify)", us.get("floorTdx"), "");
        row("peer @phala/dcap-qvl-web SGX (full)", new double[] {peerSgx * 1000, -1, -1}, "");
        row("peer @phala/dcap-qvl-web TDX (full)", new double[] {peerTdx * 1000, -1, -1}, "");
        row("peer @phala/dcap-qvl (JS) SGX (full)", new double[] {peerJsSgx * 1000, -1, -1}, "");
        row("peer @phala/dcap-qvl (JS) TDX (full)", new double[] {peerJsTdx * 1000, -1, -1}, "");
        row("SNP report (VCEK chain cached)", us.get("snpCachedChain"), "<= 1");
        row("SNP floor (1 x ECDSA P-384 verify)", us.get("floorSnp"), "");
        row("Azure vTPM (SNP chain cached)", us.get("azureVtpm"), "");
        row("Azure vTPM floor (P-384 + RSA-2048 verify)", us.get("floorAzureVtpm"), "");
        row("SNP + AMD CRL (" + (System.getProperty("attestmesh.amd.crl-dir", "").isBlank() ? "stand-in ARK" : "KDS CRL")
                + ")", us.get("snpWithCrl"), "");
        row("SNP + CRL floor (P-384 + RSA-4096 PSS)", us.get("floorSnpWithCrl"), "");
        System.out.printf(Locale.ROOT, "warm / floor ratio: SGX %.2f, TDX %.2f (target <= 1.5)%n",
                warmSgx / floorSgx, warmTdx / floorTdx);
        System.out.printf(Locale.ROOT, "JS peer / cold speed-up: SGX %.1fx, TDX %.1fx (target >= 3)%n",
                peerJsSgx / coldSgx, peerJsTdx / coldTdx);
        System.out.printf(Locale.ROOT,
                "{\"coldMsSgx\":%.4f,\"coldMsTdx\":%.4f,\"warmMsSgx\":%.4f,\"warmMsTdx\":%.4f,\"snpMs\":%.4f,"
                        + "\"snpRatioToFloor\":%.3f,\"peerColdMsSgx\":%.4f,\"peerColdMsTdx\":%.4f,"
                        + "\"warmRatioToFloor\":%.3f,\"azureVtpmMs\":%.4f,\"azureVtpmRatioToFloor\":%.3f,"
                        + "\"snpCrlMs\":%.4f,\"snpCrlRatioToFloor\":%.3f,\"peerJsColdMsSgx\":%.4f,\"peerJsColdMsTdx\":%.4f}%n",
                coldSgx, coldTdx, warmSgx, warmTdx, snp, snp / snpFloor, peerSgx, peerTdx, ratio,
                ms(us, "azureVtpm"), ms(us, "azureVtpm") / ms(us, "floorAzureVtpm"),
                ms(us, "snpWithCrl"), ms(us, "snpWithCrl") / ms(us, "floorSnpWithCrl"), peerJsSgx, peerJsTdx);
    }

    private static double ms(Map<String, double[]> us, String name) {
        double[] v = us.get(name);
        return v == null ? -1 : v[0] / 1000.0;
    }

    /** One table row from microsecond statistics {median, mean, p90}; negative values print as n/a. */
    private static void row(String what, double[] us, String target) {
        double[] v = us == null ? new double[] {-1, -1, -1} : us;
        System.out.printf(Locale.ROOT, "%-44s %10s %10s %10s %10s%n", what, cell(v[0]), cell(v[1]), cell(v[2]), target);
    }

    private static String cell(double us) {
        return us < 0 ? "n/a" : String.format(Locale.ROOT, "%.4f", us / 1000.0);
    }

    /**
     * Runs the node peer's bench mode and returns its median ms per verification; -1 (with a note on
     * stderr) when node or the package is absent.
     */
    static double peerMs(Path quote, Path collateral, Instant at, String which) {
        Path peer = Path.of("perf/node");
        if (!Files.isDirectory(peer.resolve("node_modules/@phala/dcap-qvl-web"))) {
            peer = Path.of("node");
        }
        if (!Files.isDirectory(peer.resolve("node_modules/@phala/dcap-qvl-web"))) {
            System.err.println("peer not measured: run 'npm ci --prefix perf/node' (and have node on PATH)");
            return -1;
        }
        List<String> cmd = new ArrayList<>(List.of("node", peer.resolve("verify.mjs").toString(), "bench",
                quote.toString(), collateral.toString(), Long.toString(at.getEpochSecond()), "300", which));
        try {
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
                System.err.println("peer failed: " + out);
                return -1;
            }
            JsonNode n = new ObjectMapper().readTree(out.substring(out.lastIndexOf('\n') + 1));
            if (!n.get("error").isNull()) {
                System.err.println("peer rejected the vector: " + n.get("error").asText());
                return -1;
            }
            return n.has("msMedian") ? n.get("msMedian").asDouble() : n.get("msPerVerify").asDouble();
        } catch (IOException e) {
            System.err.println("peer not measured: " + e.getMessage());
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }
}
