package dev.attestmesh.quote.sgx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.EvidenceParseException;
import dev.attestmesh.quote.intel.IntelVectors;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class SgxQuoteParserTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void dcapQvlSgxQuoteHasItsSnapshotValues() throws Exception {
        SgxQuote q = SgxQuoteParser.parse(IntelVectors.bytes("sgx/dcap-qvl-sgx/sgx_quote"));
        assertEquals(3, q.header().version());
        assertEquals("33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb", HEX.formatHex(q.body().mrEnclave()));
        assertEquals("815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6", HEX.formatHex(q.body().mrSigner()));
        assertEquals(0, q.body().isvProdId());
        assertEquals(0, q.body().isvSvn());
        assertArrayEquals(Arrays.copyOf("Hello, world!".getBytes(StandardCharsets.US_ASCII), 64), q.reportData());
        assertEquals(10, q.signatureData().qeReport().isvSvn());
        assertTrue(HEX.formatHex(q.signatureData().qeReport().mrSigner()).startsWith("8c4f5775"));
        assertEquals(32, q.signatureData().qeAuthData().length);
        assertEquals(432, q.signedBytes().length);
    }

    @Test
    void occlumQuoteIsVersion3WithTestReportData() throws Exception {
        SgxQuote q = SgxQuoteParser.parse(IntelVectors.bytes("sgx/trustee-occlum/occlum_quote.dat"));
        assertEquals(3, q.header().version());
        assertEquals("test", new String(q.reportData(), 0, 4, StandardCharsets.US_ASCII));
    }

    @Test
    void automataSgxQuoteParsesWithTrailingBytesIgnored() throws Exception {
        SgxQuote q = SgxQuoteParser.parse(IntelVectors.bytes("sgx/automata-sgx-v3/sampleQuote_v3.bin"));
        assertEquals("a4f45c39dac622cb1dd32ddb35a52ec92db41d0fa88a1c911c49e59c534f61cd", HEX.formatHex(q.body().mrEnclave()));
        assertArrayEquals(new byte[64], q.reportData());
    }

    @Test
    void tdxQuoteIsNotAnSgxQuote() {
        byte[] tdx = IntelVectors.bytes("tdx/dcap-qvl-tdx/tdx_quote");
        var e = assertThrows(EvidenceParseException.class, () -> SgxQuoteParser.parse(tdx));
        assertTrue(e.getMessage().contains("not SGX"), e.getMessage());
    }

    @Test
    void qeAuthDataLengthBeyondTheSignatureDataIsRejected() throws Exception {
        byte[] raw = IntelVectors.bytes("sgx/dcap-qvl-sgx/sgx_quote");
        raw[1012] = (byte) 0xff;
        raw[1013] = (byte) 0xff;
        assertThrows(EvidenceParseException.class, () -> SgxQuoteParser.parse(raw));
    }

    @Test
    void everyTruncationIsAParseError() throws Exception {
        byte[] raw = IntelVectors.bytes("sgx/dcap-qvl-sgx/sgx_quote");
        for (int len = 0; len < raw.length; len += 11) {
            byte[] cut = Arrays.copyOf(raw, len);
            assertThrows(EvidenceParseException.class, () -> SgxQuoteParser.parse(cut), "length " + len);
        }
    }

    /**
     * No vector has an SGX body in a v4/v5 envelope; re-frame the real v3 quote as v5 body type 1
     * with v4-style signature data (type 6 wrapping the QE report) and check every field survives.
     */
    @Test
    void sgxBodyInsideV5EnvelopeParses() throws Exception {
        byte[] v3 = IntelVectors.bytes("sgx/dcap-qvl-sgx/sgx_quote");
        SgxQuote original = SgxQuoteParser.parse(v3);
        java.io.ByteArrayOutputStream qe = new java.io.ByteArrayOutputStream();
        qe.write(v3, 564, v3.length - 564); // QE report, its signature, auth data, type 5 chain
        byte[] qePart = qe.toByteArray();
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(54 + 384 + 4 + 128 + 6 + qePart.length)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put(v3, 0, 48).put(0, (byte) 5);
        b.putShort((short) 1).putInt(384).put(v3, 48, 384);
        b.putInt(128 + 6 + qePart.length).put(v3, 436, 128).putShort((short) 6).putInt(qePart.length).put(qePart);
        SgxQuote q = SgxQuoteParser.parse(b.array());
        assertEquals(5, q.header().version());
        assertArrayEquals(original.body().mrEnclave(), q.body().mrEnclave());
        assertArrayEquals(original.signatureData().qeReport().raw(), q.signatureData().qeReport().raw());
        assertArrayEquals(original.signatureData().certificationData(), q.signatureData().certificationData());
        assertEquals(54 + 384, q.signedBytes().length);
    }
}
