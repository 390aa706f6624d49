package dev.attestmesh.quote.tdx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.attestmesh.quote.EvidenceParseException;
import dev.attestmesh.quote.intel.IntelVectors;
import dev.attestmesh.quote.intel.QuoteSignatureData;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** Parse-only expectations for the TDX vectors (values from MANIFEST.md and the sources' tests). */
class TdxQuoteParserTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void trusteeQuote4ParsesToTheClaimsTrusteeExpects() throws Exception {
        TdxQuote q = TdxQuoteParser.parse(IntelVectors.bytes("tdx/trustee/tdx_quote_4.dat"));
        JsonNode expected = new ObjectMapper().readTree(IntelVectors.bytes("tdx/trustee/parse_tdx_claims_expected.json"));
        JsonNode body = expected.get("quote").get("body");
        JsonNode header = expected.get("quote").get("header");
        TdReport b = q.body();
        assertEquals(body.get("mr_config_id").asText(), HEX.formatHex(b.mrConfigId()));
        assertEquals(body.get("mr_owner").asText(), HEX.formatHex(b.mrOwner()));
        assertEquals(body.get("mr_owner_config").asText(), HEX.formatHex(b.mrOwnerConfig()));
        assertEquals(body.get("mr_seam").asText(), HEX.formatHex(b.mrSeam()));
        assertEquals(body.get("mr_td").asText(), HEX.formatHex(b.mrTd()));
        assertEquals(body.get("mrsigner_seam").asText(), HEX.formatHex(b.mrSignerSeam()));
        assertEquals(body.get("report_data").asText(), HEX.formatHex(b.reportData()));
        assertEquals(body.get("rtmr_0").asText(), HEX.formatHex(b.rtmr0()));
        assertEquals(body.get("rtmr_1").asText(), HEX.formatHex(b.rtmr1()));
        assertEquals(body.get("rtmr_2").asText(), HEX.formatHex(b.rtmr2()));
        assertEquals(body.get("rtmr_3").asText(), HEX.formatHex(b.rtmr3()));
        assertEquals(body.get("seam_attributes").asText(), HEX.formatHex(b.seamAttributes()));
        assertEquals(body.get("tcb_svn").asText(), HEX.formatHex(b.teeTcbSvn()));
        assertEquals(body.get("td_attributes").asText(), HEX.formatHex(b.tdAttributes()));
        assertEquals(body.get("xfam").asText(), HEX.formatHex(b.xfam()));
        assertEquals(header.get("vendor_id").asText(), HEX.formatHex(q.header().qeVendorId()));
        assertEquals(header.get("user_data").asText(), HEX.formatHex(q.header().userData()));
        assertEquals(4, q.header().version());
        assertEquals(expected.get("td_attributes").get("debug").asBoolean(), b.debug());
        assertTrue(b.debug(), "trustee's sample TD runs with TDATTRIBUTES.DEBUG");
    }

    @Test
    void trusteeQuote5IsVersion5() throws Exception {
        TdxQuote q = TdxQuoteParser.parse(IntelVectors.bytes("tdx/trustee/tdx_quote_5.dat"));
        assertEquals(5, q.header().version());
    }

    @Test
    void goTdxGuestV5SampleHasTdx15BodyFields() throws Exception {
        TdxQuote q = TdxQuoteParser.parse(IntelVectors.bytes("tdx/go-tdx-guest/quote_v5_sample.dat"));
        assertEquals(5, q.header().version());
        assertEquals(3, q.bodyType());
        assertEquals("7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f750c3bc8f876",
                HEX.formatHex(q.body().mrTd()));
        assertTrue(HEX.formatHex(q.body().teeTcbSvn()).startsWith("0b010400"));
        assertTrue(HEX.formatHex(q.body().teeTcbSvn2().orElseThrow()).startsWith("0d010400"));
        assertArrayEquals(new byte[48], q.body().mrServiceTd().orElseThrow());
        assertEquals(54 + 648, q.signedBytes().length);
    }

    @Test
    void goTdxGuestV4QuoteHasTheValuesToolsCheckExpects() throws Exception {
        TdxQuote q = TdxQuoteParser.parse(IntelVectors.bytes("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat"));
        TdReport b = q.body();
        assertEquals("2fd279c16164a93dd5bf373d834328d46008c2b693af9ebb865b08b2ced320c9a89b4869a9fab60fbe9d0c5a5363c656",
                HEX.formatHex(b.mrSeam()));
        assertEquals("6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb",
                HEX.formatHex(b.mrTd()));
        assertEquals("0000004000000000", HEX.formatHex(b.tdAttributes()));
        assertEquals("e71a060000000000", HEX.formatHex(b.xfam()));
        assertEquals("03000400000000000000000000000000", HEX.formatHex(b.teeTcbSvn()));
        assertEquals("6c62dec1b8191749a31dab490be532a35944dea47caef1f980863993d9899545eb7406a38d1eed313b987a467dacead6f0c87a6d766c66f6f29f8acb281f1113",
                HEX.formatHex(b.reportData()));
        assertEquals("939a7233f79c4ca9940a0db3957f0607", HEX.formatHex(q.header().qeVendorId()));
        assertEquals(632, q.signedBytes().length);
        assertEquals(QuoteSignatureData.PCK_CERT_CHAIN, q.signatureData().certificationDataType());
        assertFalse(b.debug());
    }

    @Test
    void paddedGceQuoteParsesAndIgnoresItsZeroPadding() throws Exception {
        byte[] raw = IntelVectors.bytes("tdx/go-tdx-guest/ccel/cos-113-tdx-quote.dat");
        TdxQuote q = TdxQuoteParser.parse(raw);
        assertArrayEquals(IntelVectors.bytes("tdx/go-tdx-guest/ccel/nonce.dat"), q.body().reportData());
        // the same quote without its 3065 bytes of padding parses identically
        TdxQuote trimmed = TdxQuoteParser.parse(Arrays.copyOf(raw, raw.length - 3065));
        assertArrayEquals(q.body().mrTd(), trimmed.body().mrTd());
    }

    @Test
    void tappdQuotesParseFromHex() throws Exception {
        for (String f : new String[] {"tdx/dcap-qvl-tdx-tappd/quote-from-tappd.hex", "tdx/dcap-qvl-tdx-tappd/tdx-quote.hex"}) {
            TdxQuote q = TdxQuoteParser.parse(IntelVectors.hexFile(f));
            assertEquals(4, q.header().version(), f);
        }
    }

    @Test
    void truncatedQuoteIsAParseErrorAtEveryLength() throws Exception {
        byte[] raw = IntelVectors.bytes("tdx/dcap-qvl-tdx/tdx_quote");
        int declaredEnd = raw.length - 70;
        for (int len = 0; len < declaredEnd; len += 7) {
            byte[] cut = Arrays.copyOf(raw, len);
            assertThrows(EvidenceParseException.class, () -> TdxQuoteParser.parse(cut), "length " + len);
        }
        TdxQuoteParser.parse(Arrays.copyOf(raw, declaredEnd)); // exactly the declared structure is enough
    }

    @Test
    void hugeSignatureLengthIsRejectedWithoutAllocating() throws Exception {
        byte[] raw = IntelVectors.bytes("tdx/dcap-qvl-tdx/tdx_quote");
        raw[0x278] = (byte) 0xff;
        raw[0x279] = (byte) 0xff;
        raw[0x27A] = (byte) 0xff;
        raw[0x27B] = (byte) 0x7f;
        var e = assertThrows(EvidenceParseException.class, () -> TdxQuoteParser.parse(raw));
        assertTrue(e.getMessage().contains("signature data"), e.getMessage());
    }

    @Test
    void sgxQuoteIsNotATdxQuote() {
        byte[] sgx = IntelVectors.bytes("sgx/dcap-qvl-sgx/sgx_quote");
        var e = assertThrows(EvidenceParseException.class, () -> TdxQuoteParser.parse(sgx));
        assertTrue(e.getMessage().contains("not TDX"), e.getMessage());
    }

    /** No vector has a v5 body type 2; re-frame a real v4 quote as one (header version 5, type 2, size 584). */
    @Test
    void v5QuoteWithTdx10BodyParses() throws Exception {
        byte[] v4 = IntelVectors.bytes("tdx/dcap-qvl-tdx/tdx_quote");
        byte[] v5 = new byte[v4.length + 6];
        System.arraycopy(v4, 0, v5, 0, 48);
        v5[0] = 5;
        v5[48] = 2;
        v5[50] = (byte) (584 & 0xff);
        v5[51] = (byte) (584 >> 8);
        System.arraycopy(v4, 48, v5, 54, v4.length - 48);
        TdxQuote q = TdxQuoteParser.parse(v5);
        TdxQuote original = TdxQuoteParser.parse(v4);
        assertEquals(2, q.bodyType());
        assertArrayEquals(original.body().mrTd(), q.body().mrTd());
        assertTrue(q.body().teeTcbSvn2().isEmpty());
        assertArrayEquals(original.signatureData().qeReport().raw(), q.signatureData().qeReport().raw());
        assertEquals(54 + 584, q.signedBytes().length);
    }

    @Test
    void v5BodySizeThatContradictsItsTypeIsRejected() throws Exception {
        byte[] q = IntelVectors.bytes("tdx/go-tdx-guest/quote_v5_sample.dat");
        q[50] = (byte) 0x48; // 648 -> 584 while the type still says TDX 1.5
        q[51] = 0x02;
        var e = assertThrows(EvidenceParseException.class, () -> TdxQuoteParser.parse(q));
        assertTrue(e.getMessage().contains("body size"), e.getMessage());
    }
}
