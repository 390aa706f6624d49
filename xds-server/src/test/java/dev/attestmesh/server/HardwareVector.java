package dev.attestmesh.server;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.attestmesh.quote.EvidenceVerifier;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.Verifiers;
import dev.attestmesh.quote.collateral.CollateralEncodings;
import dev.attestmesh.quote.collateral.CollateralJsonParser;
import dev.attestmesh.quote.collateral.CollateralProvider;
import dev.attestmesh.quote.collateral.PckCrl;
import dev.attestmesh.quote.collateral.QuoteCollateral;
import dev.attestmesh.quote.collateral.RootCaCrl;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One real hardware evidence vector of {@code ../shared/vectors} (read in place) with what MANIFEST.md and
 * the vector's own bytes say about it: where its collateral comes from, the time inside its collateral's
 * validity windows, the reference values a policy for it is written from, and the claims it must yield.
 *
 * @param name case name
 * @param tee evidence type as sent in the Attest
 * @param evidence path under the vectors directory
 * @param requestCollateral collateral sent with the Attest (DCAP JSON, VCEK), when the vector has it in that form
 * @param pinnedAt verification time inside the collateral's windows; empty where the wall clock is inside them
 * @param primary the primary measurement (MRENCLAVE, MRTD, SNP measurement): what the "other" policy changes
 * @param policyHead policy lines besides {@code id} and {@code reference} (tee, tcbStatus, advisoryIds, debug)
 * @param reference the {@code reference} block for the TEE, with {@code PRIMARY} standing for {@code primary}
 * @param tcbStatus expected TCB status (Intel spelling)
 * @param advisoryIds expected advisory IDs
 * @param debug expected debug flag
 * @param claims byte claims the certificate must carry, name to hex (the primary measurement included)
 */
record HardwareVector(String name, TeeType tee, String evidence, Optional<String> requestCollateral,
        Optional<Instant> pinnedAt, String primary, String policyHead, String reference, String tcbStatus,
        List<String> advisoryIds, boolean debug, Map<String, String> claims) {

    static Path dir() {
        Path d = Path.of(System.getProperty("attestmesh.vectors", "../shared/vectors"));
        assumeTrue(Files.isDirectory(d.resolve("sgx")) && Files.isDirectory(d.resolve("snp")),
                "hardware vectors not found at " + d.toAbsolutePath() + " (set -Dattestmesh.vectors); skipping");
        return d;
    }

    static byte[] read(String relative) {
        try {
            return Files.readAllBytes(dir().resolve(relative));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    byte[] evidenceBytes() {
        return read(evidence);
    }

    Optional<byte[]> requestCollateralBytes() {
        return requestCollateral.map(HardwareVector::read);
    }

    /** A policy file: {@code real} written from the vector's reference values, {@code other} pinning another measurement. */
    String policies() {
        String other = (primary.startsWith("0b") ? "0c" : "0b") + primary.substring(2);
        return "policies:\n" + policy("real", primary) + policy("other", other);
    }

    private String policy(String id, String measurement) {
        return "  - id: " + id + "\n" + policyHead.indent(4) + "    reference:\n"
                + reference.replace("PRIMARY", measurement).indent(6);
    }

    /**
     * The production verifier of this TEE type, assembled by quote-native's front door from the vectors'
     * trust anchors (the pinned Intel root, the renewed TCB Signing certificate, the AMD roots directory),
     * with no network fetches; judged at {@link #pinnedAt} when given.
     */
    EvidenceVerifier verifier() throws Exception {
        Path v = dir();
        Verifiers.Builder b = Verifiers.builder().simulator(false).vcekFromKds(false)
                .intelRoot(v.resolve("roots/automata/rootCaDer.der"))
                .intelTcbSigning(List.of(CollateralEncodings.certificate(read("roots/automata/signingDer.der"))))
                .amdRoots(v.resolve("roots/amd"));
        if (evidence.startsWith("tdx/automata-tdx-v5/")) {
            // Automata's collateral is in Intel PCS response form without issuer chains: a collateral source,
            // not a request field (the renewed TCB Signing certificate above checks it).
            String d = "tdx/automata-tdx-v5/";
            b.intelCollateral(CollateralProvider.fixed(new QuoteCollateral(
                    CollateralJsonParser.pcsTcbInfo(read(d + "tcbinfov3_90C06F000000.json"), List.of()),
                    CollateralJsonParser.pcsEnclaveIdentity(read(d + "qe_td.json"), List.of()),
                    new PckCrl(CollateralEncodings.crl(read(d + "platformCrl_0625.der")), List.of()),
                    new RootCaCrl(CollateralEncodings.crl(read("roots/automata/rootCrlDer.der"))))));
        }
        EvidenceVerifier real = b.verifier(tee);
        return pinnedAt.<EvidenceVerifier>map(at -> new PinnedTimeVerifier(real, at)).orElse(real);
    }

    @Override
    public String toString() {
        return name;
    }

    private static final String ZERO48 = "00".repeat(48);

    /** SGX, TDX v4, TDX v5, SNP Milan, SNP Genoa, Azure SNP vTPM: every verified TEE type of the vectors. */
    static List<HardwareVector> all() {
        return List.of(
                new HardwareVector("sgx dcap-qvl quote v3", TeeType.SGX, "sgx/dcap-qvl-sgx/sgx_quote",
                        Optional.of("sgx/dcap-qvl-sgx/sgx_quote_collateral.json"),
                        Optional.of(Instant.ofEpochSecond(1752919277)),
                        "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb",
                        """
                        tee: [sgx]
                        tcbStatus: [ConfigurationAndSWHardeningNeeded]
                        advisoryIds: [INTEL-SA-00289, INTEL-SA-00615]
                        debug: false""",
                        """
                        sgx:
                          mrenclave: ["PRIMARY"]
                          mrsigner: ["815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6"]
                          isvprodid: [0]
                          minimum: {isvsvn: 0}""",
                        "ConfigurationAndSWHardeningNeeded", List.of("INTEL-SA-00289", "INTEL-SA-00615"), false,
                        Map.of("mrenclave", "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb",
                                "mrsigner", "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6")),
                new HardwareVector("tdx dcap-qvl quote v4", TeeType.TDX, "tdx/dcap-qvl-tdx/tdx_quote",
                        Optional.of("tdx/dcap-qvl-tdx/tdx_quote_collateral.json"),
                        Optional.of(Instant.ofEpochSecond(1752919234)),
                        "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7",
                        """
                        tee: [tdx]
                        tcbStatus: [UpToDate]
                        debug: false""",
                        """
                        tdx:
                          mrtd: ["PRIMARY"]
                          rtmr0: ["44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0"]
                          rtmr1: ["0084452c01668329d4bc06acdf58a7205c26743304509973949e5619bf81a6a7aea8c323c173019b3093d54e579e9378"]
                          rtmr2: ["d833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3ba80b70870d7330733642e01d48c3132"]
                          rtmr3: ["%s"]
                          mrseam: ["5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1"]
                          minimum:
                            tee_tcb_svn: "06010300000000000000000000000000"
                          masked:
                            td_attributes: {expected: 0x0, mask: 0x1}""".formatted(ZERO48),
                        "UpToDate", List.of(), false,
                        Map.of("mrtd", "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7",
                                "rtmr0", "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0",
                                "mrseam", "5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1",
                                "tee_tcb_svn", "06010300000000000000000000000000")),
                new HardwareVector("tdx automata quote v5 (TDX 1.5 body)", TeeType.TDX,
                        "tdx/automata-tdx-v5/alibaba_quote_5.dat", Optional.empty(),
                        Optional.of(Instant.ofEpochSecond(1749945600)),
                        "157768a71a6a31f5561978c4cde665809d22976ef5dead2952839b7b3ea23b6c2931c9148fe1d117c99faefac18bb73b",
                        """
                        tee: [tdx]
                        tcbStatus: [UpToDate]
                        debug: false""",
                        """
                        tdx:
                          mrtd: ["PRIMARY"]
                          rtmr0: ["cdf337cef3d59099c809ca0dd38c7ba70d026b8680726e394268ad97c9d620bbd805b3148bf10034a4d205f3fd1d6723"]
                          rtmr1: ["149796dc1c439aca2250b2c731722ffb220504cf0b38eeda05e675aae0dfb536fb9c73c64cd3bd98aae4b2e876541a15"]
                          rtmr2: ["f5902739f8e3f2adef35391d7a3c8237da62ab25c75857953d547ad249270d76c1be21bf6a8aec2a22852e972c537c7f"]
                          rtmr3: ["%s"]
                          mrseam: ["1cc6a17ab799e9a693fac7536be61c12ee1e0fabada82d0c999e08ccee2aa86de77b0870f558c570e7ffe55d6d47fa04"]
                          mrconfigid: ["%s"]
                          minimum:
                            tee_tcb_svn: "05010200000000000000000000000000"
                          masked:
                            td_attributes: {expected: 0x0, mask: 0x1}""".formatted(ZERO48, ZERO48),
                        "UpToDate", List.of(), false,
                        Map.of("mrtd", "157768a71a6a31f5561978c4cde665809d22976ef5dead2952839b7b3ea23b6c2931c9148fe1d117c99faefac18bb73b",
                                "rtmr0", "cdf337cef3d59099c809ca0dd38c7ba70d026b8680726e394268ad97c9d620bbd805b3148bf10034a4d205f3fd1d6723",
                                "mrseam", "1cc6a17ab799e9a693fac7536be61c12ee1e0fabada82d0c999e08ccee2aa86de77b0870f558c570e7ffe55d6d47fa04")),
                new HardwareVector("snp milan go-sev-guest", TeeType.SNP, "snp/go-sev-guest-milan/attestation.bin",
                        Optional.of("snp/go-sev-guest-milan/vcek.testcer"), Optional.empty(),
                        "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01",
                        """
                        tee: [snp]
                        tcbStatus: [UpToDate]
                        debug: true""",
                        """
                        snp:
                          measurement: ["PRIMARY"]
                          chip_id: ["3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d"]
                          host_data: ["%s"]
                          minimumTcb: {bootloader: 2, tee: 0, snp: 5, microcode: 68}
                          masked: {policy: {expected: 0x30000, mask: 0x30000}}""".formatted("00".repeat(32)),
                        "UpToDate", List.of(), true,
                        Map.of("measurement", "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01",
                                "chip_id", "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d")),
                new HardwareVector("snp genoa (azure report)", TeeType.SNP,
                        "snp/trustee-azure-genoa/snp-report-genoa.DERIVED.bin",
                        Optional.of("snp/trustee-azure-genoa/vcek-genoa.pem"), Optional.empty(),
                        "f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3706faf814c9e61065768a6ff917c89ae",
                        """
                        tee: [snp]
                        tcbStatus: [UpToDate]
                        debug: false""",
                        """
                        snp:
                          measurement: ["PRIMARY"]
                          chip_id: ["0506ffba875e939c2729d20c74eb72b4c5ba6bf7ea1faaa640141f12c6d64782fb487f68ce69dcd021e914cc0d9244327bc121f0242d6470903ad1d4aaea4ad1"]
                          minimumTcb: {bootloader: 10, tee: 0, snp: 23, microcode: 84}
                          masked: {policy: {expected: 0x30000, mask: 0x80000}}""",
                        "UpToDate", List.of(), false,
                        Map.of("measurement", "f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3706faf814c9e61065768a6ff917c89ae")),
                new HardwareVector("azure snp vtpm genoa", TeeType.AZ_SNP_VTPM,
                        "snp/trustee-azure-genoa/evidence-genoa.json", Optional.empty(), Optional.empty(),
                        "f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3706faf814c9e61065768a6ff917c89ae",
                        """
                        tee: [az-snp-vtpm]
                        tcbStatus: [UpToDate]
                        debug: false""",
                        """
                        az-snp-vtpm:
                          measurement: ["PRIMARY"]
                          pcrs: {0: ["afd689d0bb1c5f36f023fbaf574135f555a28a10c1f6b938d2a25e70c7783338"]}
                          minimumTcb: {bootloader: 10, tee: 0, snp: 23, microcode: 84}
                          masked: {policy: {expected: 0x30000, mask: 0x80000}}""",
                        "UpToDate", List.of(), false,
                        Map.of("measurement", "f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3706faf814c9e61065768a6ff917c89ae",
                                "pcr00", "afd689d0bb1c5f36f023fbaf574135f555a28a10c1f6b938d2a25e70c7783338")));
    }
}
