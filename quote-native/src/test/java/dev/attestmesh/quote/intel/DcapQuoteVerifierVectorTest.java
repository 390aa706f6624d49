package dev.attestmesh.quote.intel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.collateral.CollateralProvider;
import dev.attestmesh.quote.collateral.QuoteCollateral;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** One test per SGX/TDX vector of MANIFEST.md with an expected outcome, at its stated time. */
class DcapQuoteVerifierVectorTest {

    private static VerifiedEvidence verify(TeeType tee, byte[] quote, QuoteCollateral c, Instant at)
            throws EvidenceVerificationException {
        return DcapQuoteVerifier.create(tee, IntelVectors.anchors(), CollateralProvider.fixed(c))
                .verify(VerificationRequest.of(tee, quote, at));
    }

    private static VerificationCheck rejection(TeeType tee, byte[] quote, QuoteCollateral c, Instant at) {
        return assertThrows(EvidenceVerificationException.class, () -> verify(tee, quote, c, at)).check();
    }

    @Test
    void dcapQvlSgxQuoteIsConfigurationAndSwHardeningNeededWithTwoAdvisories() throws Exception {
        byte[] quote = IntelVectors.bytes("sgx/dcap-qvl-sgx/sgx_quote");
        byte[] json = IntelVectors.bytes("sgx/dcap-qvl-sgx/sgx_quote_collateral.json");
        DcapQuoteVerifier v = DcapQuoteVerifier.create(TeeType.SGX, IntelVectors.rootOnly(), CollateralProvider.none());
        VerifiedEvidence e = v.verify(new VerificationRequest(TeeType.SGX, quote, Optional.of(json),
                Instant.ofEpochSecond(1752919277)));
        assertEquals(TcbStatus.CONFIGURATION_AND_SW_HARDENING_NEEDED, e.tcbStatus());
        assertEquals(List.of("INTEL-SA-00289", "INTEL-SA-00615"), e.advisoryIds());
        assertEquals("33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb", e.measurements().get("mrenclave"));
        assertEquals("815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6", e.measurements().get("mrsigner"));
        assertEquals(0L, e.numbers().get("isvprodid"));
        assertEquals(0L, e.numbers().get("isvsvn"));
        assertEquals(13L, e.numbers().get("pcesvn"));
        assertEquals(Optional.of("00a067110000"), e.fmspcOrChip());
        byte[] expectedRd = Arrays.copyOf("Hello, world!".getBytes(StandardCharsets.US_ASCII), 64);
        assertArrayEquals(expectedRd, e.reportData());
        assertFalse(e.debug());
        assertFalse(e.insecure());
    }

    @Test
    void dcapQvlSgxQuoteIsRejectedOneSecondAfterItsCollateralExpires() {
        byte[] quote = IntelVectors.bytes("sgx/dcap-qvl-sgx/sgx_quote");
        byte[] json = IntelVectors.bytes("sgx/dcap-qvl-sgx/sgx_quote_collateral.json");
        DcapQuoteVerifier v = DcapQuoteVerifier.create(TeeType.SGX, IntelVectors.rootOnly(), CollateralProvider.none());
        var ex = assertThrows(EvidenceVerificationException.class, () -> v.verify(new VerificationRequest(TeeType.SGX,
                quote, Optional.of(json), Instant.ofEpochSecond(1752919277 + 2))));
        assertEquals(VerificationCheck.COLLATERAL_EXPIRED, ex.check());
    }

    @Test
    void automataSgxV3QuoteVerifiesAsSwHardeningNeeded() throws Exception {
        QuoteCollateral c = IntelVectors.pcsCollateral("sgx/automata-sgx-v3/sgx_tcbinfov3_00606a000000.json",
                "sgx/automata-sgx-v3/sgx_qeidentity_v4.json", "sgx/automata-sgx-v3/platform_crl_0825.der",
                "roots/automata/rootCrlDer.der");
        VerifiedEvidence e = verify(TeeType.SGX, IntelVectors.bytes("sgx/automata-sgx-v3/sampleQuote_v3.bin"), c,
                Instant.parse("2025-08-15T05:45:00Z"));
        assertEquals(TcbStatus.SW_HARDENING_NEEDED, e.tcbStatus());
        assertEquals(List.of("INTEL-SA-00615"), e.advisoryIds());
        assertEquals("a4f45c39dac622cb1dd32ddb35a52ec92db41d0fa88a1c911c49e59c534f61cd", e.measurements().get("mrenclave"));
        assertEquals("8f2dbc0f9c5d3378d596974b2deed1f93223cc49242899f83809bcc92546132c", e.measurements().get("mrsigner"));
        assertEquals(Optional.of("00606a000000"), e.fmspcOrChip());
        assertArrayEquals(new byte[64], e.reportData());
    }

    @Test
    void dcapQvlTdxQuoteIsUpToDate() throws Exception {
        QuoteCollateral c = IntelVectors.dcapQvlCollateral("tdx/dcap-qvl-tdx/tdx_quote_collateral.json");
        VerifiedEvidence e = DcapQuoteVerifier.create(TeeType.TDX, IntelVectors.rootOnly(), CollateralProvider.fixed(c))
                .verify(VerificationRequest.of(TeeType.TDX, IntelVectors.bytes("tdx/dcap-qvl-tdx/tdx_quote"),
                        Instant.ofEpochSecond(1752919234)));
        assertEquals(TcbStatus.UP_TO_DATE, e.tcbStatus());
        assertEquals(List.of(), e.advisoryIds());
        assertEquals("06010300000000000000000000000000", e.measurements().get("tee_tcb_svn"));
        assertEquals("5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1",
                e.measurements().get("mrseam"));
        assertEquals("0000001000000000", e.measurements().get("td_attributes"));
        assertEquals("e702060000000000", e.measurements().get("xfam"));
        assertEquals("91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7",
                e.measurements().get("mrtd"));
        assertTrue(e.measurements().get("rtmr0").startsWith("44c0197b"));
        assertTrue(e.measurements().get("rtmr1").startsWith("0084452c"));
        assertTrue(e.measurements().get("rtmr2").startsWith("d833feef"));
        assertEquals("0".repeat(96), e.measurements().get("rtmr3"));
        assertEquals("9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20",
                java.util.HexFormat.of().formatHex(e.reportData()));
        assertEquals(11L, e.numbers().get("pcesvn"));
        assertFalse(e.debug());
        assertFalse(e.measurements().containsKey("tee_tcb_svn2"), "a TDX 1.0 body has no TEE_TCB_SVN2");
    }

    @Test
    void dcapQvlOutdatedTdxV5QuoteMatchesNoTcbLevel() throws Exception {
        QuoteCollateral c = IntelVectors.dcapQvlCollateral("tdx/dcap-qvl-tdx-outdated/tdx_quote_outdated_collateral.json");
        assertEquals(VerificationCheck.TCB_LEVEL, rejection(TeeType.TDX,
                IntelVectors.bytes("tdx/dcap-qvl-tdx-outdated/tdx_quote_outdated"), c, Instant.ofEpochSecond(1774003274)));
    }

    @Test
    void dcapQvlNearTdxQuoteIsUpToDate() throws Exception {
        QuoteCollateral c = IntelVectors.dcapQvlCollateral("tdx/dcap-qvl-tdx-near/quote_collateral.json");
        VerifiedEvidence e = verify(TeeType.TDX, IntelVectors.hexFile("tdx/dcap-qvl-tdx-near/quote_hex.txt"), c,
                Instant.ofEpochSecond(1757462400));
        assertEquals(TcbStatus.UP_TO_DATE, e.tcbStatus());
        assertEquals(Optional.of("20a06f000000"), e.fmspcOrChip());
    }

    @Test
    void automataTdxV4QuoteVerifiesAsOutOfDate() throws Exception {
        QuoteCollateral c = IntelVectors.pcsCollateral("tdx/automata-tdx-v4/tcbinfov3_00806f050000.json",
                "tdx/automata-tdx-v4/qe_td.json", "tdx/automata-tdx-v4/platformCrl_0625.der", "roots/automata/rootCrlDer.der");
        VerifiedEvidence e = verify(TeeType.TDX, IntelVectors.bytes("tdx/automata-tdx-v4/sampleQuote_v4.bin"), c,
                Instant.ofEpochSecond(1749095100));
        assertEquals(TcbStatus.OUT_OF_DATE, e.tcbStatus());
        assertEquals(List.of("INTEL-SA-00960", "INTEL-SA-00982", "INTEL-SA-00986"), e.advisoryIds());
        assertEquals(Optional.of("00806f050000"), e.fmspcOrChip());
    }

    @Test
    void automataTdxV5QuoteWithTdx15BodyIsUpToDate() throws Exception {
        QuoteCollateral c = IntelVectors.pcsCollateral("tdx/automata-tdx-v5/tcbinfov3_90C06F000000.json",
                "tdx/automata-tdx-v5/qe_td.json", "tdx/automata-tdx-v5/platformCrl_0625.der", "roots/automata/rootCrlDer.der");
        VerifiedEvidence e = verify(TeeType.TDX, IntelVectors.bytes("tdx/automata-tdx-v5/alibaba_quote_5.dat"), c,
                Instant.ofEpochSecond(1749945600));
        assertEquals(TcbStatus.UP_TO_DATE, e.tcbStatus());
        assertEquals("157768a71a6a31f5561978c4cde665809d22976ef5dead2952839b7b3ea23b6c2931c9148fe1d117c99faefac18bb73b",
                e.measurements().get("mrtd"));
        assertTrue(e.measurements().containsKey("tee_tcb_svn2"));
        assertTrue(e.measurements().containsKey("mrservicetd"));
    }

    private static final Instant GO_TDX_TIME = Instant.parse("2023-07-01T01:00:00Z");

    private static byte[] goTdxQuote() {
        return IntelVectors.bytes("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat");
    }

    private static QuoteCollateral goTdxCollateral() throws Exception {
        return IntelVectors.goTdxGuestCollateral(IntelVectors.bytes("tdx/go-tdx-guest/sample_tcbInfo_response"));
    }

    @Test
    void goTdxGuestQuoteMatchesNoTcbLevelIn2023() throws Exception {
        assertEquals(VerificationCheck.TCB_LEVEL, rejection(TeeType.TDX, goTdxQuote(), goTdxCollateral(), GO_TDX_TIME));
    }

    @Test
    void goTdxGuestCollateralHasExpiredIn2053() throws Exception {
        assertEquals(VerificationCheck.COLLATERAL_EXPIRED, rejection(TeeType.TDX, goTdxQuote(), goTdxCollateral(),
                Instant.parse("2053-07-01T01:00:00Z")));
    }

    @Test
    void flippingAHeaderOrBodyByteBreaksTheQuoteSignature() throws Exception {
        for (int offset : new int[] {0x1E, 0x3C}) {
            byte[] q = goTdxQuote();
            q[offset] ^= 0x01;
            assertEquals(VerificationCheck.QUOTE_SIGNATURE, rejection(TeeType.TDX, q, goTdxCollateral(), GO_TDX_TIME),
                    "flip at 0x" + Integer.toHexString(offset));
        }
    }

    @Test
    void flippingAByteOfThePckLeafBreaksThePckChain() throws Exception {
        byte[] q = goTdxQuote();
        q[0xB77] ^= 0x01;
        assertEquals(VerificationCheck.PCK_CHAIN, rejection(TeeType.TDX, q, goTdxCollateral(), GO_TDX_TIME));
    }

    @Test
    void tamperedTcbInfoByteBreaksTheTcbInfoSignature() throws Exception {
        byte[] response = IntelVectors.bytes("tdx/go-tdx-guest/sample_tcbInfo_response");
        String text = new String(response, StandardCharsets.UTF_8);
        int at = text.indexOf("\"pcesvn\":11");
        assertTrue(at > 0);
        response[at + 10] = '2'; // pcesvn 11 -> 12 inside the signed body
        QuoteCollateral c = IntelVectors.goTdxGuestCollateral(response);
        assertEquals(VerificationCheck.TCB_INFO_SIGNATURE, rejection(TeeType.TDX, goTdxQuote(), c, GO_TDX_TIME));
    }

    @Test
    void sgxVerifierRefusesTdxEvidenceType() {
        DcapQuoteVerifier v = DcapQuoteVerifier.create(TeeType.SGX, IntelVectors.rootOnly(), CollateralProvider.none());
        var ex = assertThrows(EvidenceVerificationException.class,
                () -> v.verify(VerificationRequest.of(TeeType.TDX, goTdxQuote(), GO_TDX_TIME)));
        assertEquals(VerificationCheck.UNSUPPORTED, ex.check());
    }

    @Test
    void tdxQuoteWithoutCollateralSourceIsCollateralUnavailable() {
        DcapQuoteVerifier v = DcapQuoteVerifier.create(TeeType.TDX, IntelVectors.rootOnly(), CollateralProvider.none());
        var ex = assertThrows(EvidenceVerificationException.class,
                () -> v.verify(VerificationRequest.of(TeeType.TDX, goTdxQuote(), GO_TDX_TIME)));
        assertEquals(VerificationCheck.COLLATERAL_UNAVAILABLE, ex.check());
    }

    @Test
    void collateralOfAnotherFmspcIsAMismatch() throws Exception {
        QuoteCollateral other = IntelVectors.dcapQvlCollateral("tdx/dcap-qvl-tdx/tdx_quote_collateral.json");
        assertEquals(VerificationCheck.COLLATERAL_MISMATCH, rejection(TeeType.TDX,
                IntelVectors.hexFile("tdx/dcap-qvl-tdx-near/quote_hex.txt"), other, Instant.ofEpochSecond(1757462400)));
    }

    /**
     * Automata's 2025 TDX collateral delivered with the pre-2025 TCB Signing certificate (expired
     * 2025-05-21, same key): accepted when the renewed certificate is configured, and rejected as
     * expired when it is not, since no valid signing certificate then covers the verification time.
     */
    @Test
    void renewedTcbSigningCertificateRescuesCollateralDeliveredWithTheExpiredOne() throws Exception {
        java.util.List<java.security.cert.X509Certificate> oldChain = dev.attestmesh.quote.collateral.CollateralEncodings
                .certificateChain(new String(IntelVectors.bytes("tdx/go-tdx-guest/tcbInfoIssuerChain.DERIVED.pem"),
                        StandardCharsets.US_ASCII));
        String v4 = "tdx/automata-tdx-v4/";
        QuoteCollateral c = new QuoteCollateral(
                dev.attestmesh.quote.collateral.CollateralJsonParser.pcsTcbInfo(IntelVectors.bytes(v4 + "tcbinfov3_00806f050000.json"), oldChain),
                dev.attestmesh.quote.collateral.CollateralJsonParser.pcsEnclaveIdentity(IntelVectors.bytes(v4 + "qe_td.json"), oldChain),
                new dev.attestmesh.quote.collateral.PckCrl(IntelVectors.bytes(v4 + "platformCrl_0625.der"), List.of()),
                new dev.attestmesh.quote.collateral.RootCaCrl(IntelVectors.bytes("roots/automata/rootCrlDer.der")));
        byte[] quote = IntelVectors.bytes(v4 + "sampleQuote_v4.bin");
        Instant at = Instant.ofEpochSecond(1749095100);
        assertEquals(TcbStatus.OUT_OF_DATE, verify(TeeType.TDX, quote, c, at).tcbStatus());
        var ex = assertThrows(EvidenceVerificationException.class, () -> DcapQuoteVerifier.create(TeeType.TDX,
                IntelVectors.rootOnly(), CollateralProvider.fixed(c)).verify(VerificationRequest.of(TeeType.TDX, quote, at)));
        assertEquals(VerificationCheck.COLLATERAL_EXPIRED, ex.check());
        assertTrue(ex.getMessage().contains("TCB Signing"), ex.getMessage());
    }
}
