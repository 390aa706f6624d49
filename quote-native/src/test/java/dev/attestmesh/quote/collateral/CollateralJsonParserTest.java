package dev.attestmesh.quote.collateral;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.trust.EcdsaP256;
import dev.attestmesh.quote.intel.IntelVectors;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.Test;

class CollateralJsonParserTest {

    private static String text(String rel) {
        return new String(IntelVectors.bytes(rel), StandardCharsets.UTF_8);
    }

    @Test
    void pcsTcbInfoBodyIsTheExactDeliveredBytes() throws Exception {
        String raw = text("tdx/go-tdx-guest/sample_tcbinfo_response_v5");
        SignedCollateral c = CollateralJsonParser.pcsTcbInfo(raw.getBytes(StandardCharsets.UTF_8), List.of());
        String body = new String(c.body(), StandardCharsets.UTF_8);
        assertTrue(raw.contains(body));
        assertTrue(body.startsWith("{\"id\":\"TDX\"") && body.endsWith("}"));
    }

    @Test
    void goTdxGuestV5TcbInfoSignatureVerifiesWithTheRenewedSigningKey() throws Exception {
        SignedCollateral c = CollateralJsonParser.pcsTcbInfo(IntelVectors.bytes("tdx/go-tdx-guest/sample_tcbinfo_response_v5"), List.of());
        X509Certificate signing = IntelVectors.renewedSigningCert();
        assertTrue(EcdsaP256.verify(signing.getPublicKey(), c.body(), c.signature()));
        TcbInfo info = TcbInfo.parse(c.body());
        assertEquals("TDX", info.id());
        assertEquals("90C06F000000", info.fmspc());
        assertFalse(info.tdxModuleIdentities().isEmpty());
    }

    @Test
    void trusteeCollateralSignaturesVerifyAndParse() throws Exception {
        X509Certificate signing = IntelVectors.renewedSigningCert();
        SignedCollateral tcb = CollateralJsonParser.pcsTcbInfo(IntelVectors.bytes("tdx/trustee/tcbInfo.json"), List.of());
        SignedCollateral qe = CollateralJsonParser.pcsEnclaveIdentity(IntelVectors.bytes("tdx/trustee/enclaveIdentity.json"), List.of());
        assertTrue(EcdsaP256.verify(signing.getPublicKey(), tcb.body(), tcb.signature()));
        assertTrue(EcdsaP256.verify(signing.getPublicKey(), qe.body(), qe.signature()));
        QeIdentity id = QeIdentity.parse(qe.body());
        assertEquals("TD_QE", id.id());
        assertEquals(2, id.isvProdId());
        assertEquals("00A06D080000", TcbInfo.parse(tcb.body()).fmspc());
    }

    @Test
    void dcapQvlCollateralParsesAllNineFields() throws Exception {
        QuoteCollateral c = CollateralJsonParser.quoteCollateralV3(IntelVectors.bytes("sgx/dcap-qvl-sgx/sgx_quote_collateral.json"));
        TcbInfo info = TcbInfo.parse(c.tcbInfo().body());
        assertEquals("00A067110000", info.fmspc());
        assertEquals(17, info.tcbEvaluationDataNumber());
        assertEquals(TcbStatus.SW_HARDENING_NEEDED, info.tcbLevels().get(0).status());
        assertEquals("QE", QeIdentity.parse(c.qeIdentity().body()).id());
        assertEquals(2, c.tcbInfo().issuerChain().size(), "TCB Signing certificate and root");
        assertEquals(0x30, c.pckCrl().der()[0]);
        assertEquals(0x30, c.rootCaCrl().der()[0]);
    }

    @Test
    void urlEncodedIssuerChainDecodesToTheSameCertificatesAsPem() throws Exception {
        List<X509Certificate> url = CollateralEncodings.certificateChain(text("tdx/go-tdx-guest/tcbInfoIssuerChain.urlencoded.txt"));
        List<X509Certificate> pem = CollateralEncodings.certificateChain(text("tdx/go-tdx-guest/tcbInfoIssuerChain.DERIVED.pem"));
        assertEquals(2, url.size());
        assertEquals(pem, url);
    }

    @Test
    void crlDecodesFromDerAndHex() throws Exception {
        byte[] der = IntelVectors.bytes("tdx/automata-tdx-v4/platformCrl_0625.der");
        assertArrayEquals(der, CollateralEncodings.crl(der));
        assertArrayEquals(der, CollateralEncodings.crl(IntelVectors.bytes("tdx/automata-tdx-v4/platformCrl_0625.der.hex")));
    }

    @Test
    void duplicateKeysAreRejectedSoNoTwoReadersDisagree() {
        byte[] json = "{\"tcbInfo\":{\"a\":1},\"tcbInfo\":{\"a\":2},\"signature\":\"00\"}".getBytes(StandardCharsets.UTF_8);
        assertThrows(CollateralParseException.class, () -> CollateralJsonParser.pcsTcbInfo(json, List.of()));
        byte[] body = "{\"version\":3,\"version\":2}".getBytes(StandardCharsets.UTF_8);
        assertThrows(CollateralParseException.class, () -> TcbInfo.parse(body));
    }

    @Test
    void missingSignatureOrMalformedJsonIsAParseError() {
        assertThrows(CollateralParseException.class,
                () -> CollateralJsonParser.pcsTcbInfo("{\"tcbInfo\":{}}".getBytes(StandardCharsets.UTF_8), List.of()));
        assertThrows(CollateralParseException.class,
                () -> CollateralJsonParser.pcsTcbInfo("{\"tcbInfo\":".getBytes(StandardCharsets.UTF_8), List.of()));
        assertThrows(CollateralParseException.class,
                () -> CollateralJsonParser.quoteCollateralV3("[]".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void tcbLevelWithWrongComponentCountIsRejected() throws Exception {
        String body = new String(CollateralJsonParser.quoteCollateralV3(
                IntelVectors.bytes("tdx/dcap-qvl-tdx/tdx_quote_collateral.json")).tcbInfo().body(), StandardCharsets.UTF_8);
        String truncated = body.replaceFirst("\\{\"svn\":\\d+[^}]*\\},", "");
        var e = assertThrows(CollateralParseException.class, () -> TcbInfo.parse(truncated.getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains("component count mismatch"), e.getMessage());
    }

    @Test
    void writtenBundleRoundTripsWithSignedBytesIntact() throws Exception {
        QuoteCollateral c = IntelVectors.goTdxGuestCollateral(IntelVectors.bytes("tdx/go-tdx-guest/sample_tcbInfo_response"));
        QuoteCollateral back = CollateralJsonParser.quoteCollateralV3(QuoteCollateralJsonWriter.toQuoteCollateralV3(c));
        assertArrayEquals(c.tcbInfo().body(), back.tcbInfo().body());
        assertArrayEquals(c.tcbInfo().signature(), back.tcbInfo().signature());
        assertArrayEquals(c.qeIdentity().body(), back.qeIdentity().body());
        assertEquals(c.tcbInfo().issuerChain(), back.tcbInfo().issuerChain());
        assertEquals(c.pckCrl().issuerChain(), back.pckCrl().issuerChain());
        assertArrayEquals(c.pckCrl().der(), back.pckCrl().der());
        assertArrayEquals(c.rootCaCrl().der(), back.rootCaCrl().der());
        X509Certificate signing = back.tcbInfo().issuerChain().get(0);
        assertTrue(EcdsaP256.verify(signing.getPublicKey(), back.tcbInfo().body(), back.tcbInfo().signature()));
    }
}
