package dev.attestmesh.quote.snp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.EvidenceParseException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class SnpReportTest {

    /** A structurally valid report built field by field (no signature). */
    private static byte[] syntheticReport(int version) {
        ByteBuffer b = ByteBuffer.allocate(SnpReport.LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x000, version);
        b.putInt(0x004, 7);
        b.putLong(0x008, 0x30000L | SnpReport.POLICY_DEBUG);
        b.putInt(0x030, 2);
        b.putInt(0x034, 1);
        b.putLong(0x038, 0x1122334455667788L);
        b.putInt(0x048, 1 << 2 | 1);
        for (int i = 0; i < 64; i++) {
            b.put(0x050 + i, (byte) i);
        }
        b.putLong(0x180, 0x0900000004030201L);
        b.put(0x188, (byte) 0x1A).put(0x189, (byte) 0x02).put(0x18A, (byte) 0x01);
        b.put(0x1A0, (byte) 0xAB);
        b.put(0x1E8, (byte) 3).put(0x1E9, (byte) 55).put(0x1EA, (byte) 1);
        b.putLong(0x1F8, 0x5L);
        b.putLong(0x200, 0x7L);
        b.put(0x2A0, (byte) 0x01);
        b.put(0x2E8, (byte) 0x02);
        return b.array();
    }

    @Test
    void parsesVersion5FieldsIncludingCpuidAndMitigationVectors() throws Exception {
        SnpReport r = SnpReport.parse(syntheticReport(5));
        assertEquals(5, r.version());
        assertEquals(7, r.guestSvn());
        assertTrue(r.debug());
        assertEquals(2, r.vmpl());
        assertEquals(SnpSigningKey.VLEK, r.signingKey());
        assertTrue(r.authorKeyEnabled());
        assertFalse(r.maskChipKey());
        assertEquals(Optional.of(new SnpReport.Cpuid(0x1A, 0x02, 0x01)), r.cpuid());
        assertEquals(Optional.of(SnpProduct.TURIN), r.product());
        assertEquals(5, r.launchMitVector());
        assertEquals(7, r.currentMitVector());
        assertEquals("1.55.3", r.currentFirmware().toString());
        assertEquals(0x01, r.signatureR()[47], "R is stored little-endian and returned big-endian");
        assertEquals(0x02, r.signatureS()[47]);
        assertEquals(0x2A0, r.signedBytes().length);
        assertFalse(r.chipIdMasked());
    }

    @Test
    void decodesTurinTcbWithFmcFirst() throws Exception {
        SnpTcb tcb = SnpReport.parse(syntheticReport(5)).reportedTcb(SnpProduct.TURIN);
        assertEquals(OptionalInt.of(1), tcb.fmc());
        assertEquals(2, tcb.bootloader());
        assertEquals(3, tcb.tee());
        assertEquals(4, tcb.snp());
        assertEquals(9, tcb.microcode());
        assertEquals(1L, tcb.claims("reported_tcb").get("reported_tcb.fmc"));
    }

    @Test
    void decodesMilanTcbLikeGoSevGuestsGoodTcb() {
        SnpTcb tcb = SnpTcb.decode(4901323769462652930L, SnpProduct.MILAN);
        assertEquals(2, tcb.bootloader());
        assertEquals(0, tcb.tee());
        assertEquals(5, tcb.snp());
        assertEquals(68, tcb.microcode());
        assertEquals(OptionalInt.empty(), tcb.fmc());
    }

    @Test
    void version2ReportsHaveNoCpuidAndNoMitigationVectors() throws Exception {
        byte[] bytes = syntheticReport(2);
        SnpReport r = SnpReport.parse(bytes);
        assertEquals(Optional.empty(), r.cpuid());
        assertEquals(Optional.empty(), r.product());
        assertEquals(0, r.launchMitVector());
    }

    @Test
    void rejectsAReportOfTheWrongLength() {
        EvidenceParseException e = assertThrows(EvidenceParseException.class,
                () -> SnpReport.parse(Arrays.copyOf(syntheticReport(3), 1183)));
        assertTrue(e.getMessage().contains("exactly 1184 bytes"), e.getMessage());
    }

    @Test
    void rejectsAnUnknownVersion() {
        byte[] bytes = syntheticReport(3);
        bytes[0] = 6;
        assertEquals(0, assertThrows(EvidenceParseException.class, () -> SnpReport.parse(bytes)).offset());
    }

    @Test
    void rejectsAReservedSigningKeyValue() {
        byte[] bytes = syntheticReport(3);
        bytes[0x48] = (byte) (3 << 2);
        assertEquals(0x48, assertThrows(EvidenceParseException.class, () -> SnpReport.parse(bytes)).offset());
    }

    @Test
    void rejectsNonZeroReservedBytesBeforeTheSignature() {
        byte[] bytes = syntheticReport(3);
        bytes[0x250] = 1;
        assertEquals(0x250, assertThrows(EvidenceParseException.class, () -> SnpReport.parse(bytes)).offset());
    }

    @Test
    void rejectsSignatureComponentsWiderThan48Bytes() {
        byte[] bytes = syntheticReport(3);
        bytes[0x2A0 + 50] = 1;
        assertThrows(EvidenceParseException.class, () -> SnpReport.parse(bytes));
    }

    @Test
    void unwrapsAnAzureHclReportAndItsRuntimeData() throws Exception {
        byte[] hcl = SnpVectors.read("snp/trustee-azure-milan-hcl/hcl-report.bin");
        AzureHclReport h = AzureHclReport.parse(hcl);
        assertArrayEquals(SnpVectors.read("snp/trustee-azure-milan-hcl/snp-report.DERIVED.bin"),
                Arrays.copyOfRange(hcl, 0x20, 0x4C0));
        assertEquals(1, h.userDataHashType());
        assertEquals("SHA-256", h.digestAlgorithm());
        assertTrue(new String(h.variableData(), java.nio.charset.StandardCharsets.UTF_8).startsWith("{\"keys\""));
        byte[] truncated = Arrays.copyOf(hcl, 0x4C0 + 30);
        assertThrows(EvidenceParseException.class, () -> AzureHclReport.parse(truncated));
    }

    @Test
    void mapsCpuidToProducts() {
        assertEquals(Optional.of(SnpProduct.MILAN), SnpProduct.fromCpuid(0x19, 0x01));
        assertEquals(Optional.of(SnpProduct.GENOA), SnpProduct.fromCpuid(0x19, 0x11));
        assertEquals(Optional.of(SnpProduct.GENOA), SnpProduct.fromCpuid(0x19, 0xA0));
        assertEquals(Optional.of(SnpProduct.TURIN), SnpProduct.fromCpuid(0x1A, 0x02));
        assertEquals(Optional.empty(), SnpProduct.fromCpuid(0x17, 0x31));
        assertEquals(Optional.of(SnpProduct.MILAN), SnpProduct.fromName("Milan-B0"));
    }

    @Test
    void decodesTurinVcekExtensionsWithAnEightByteHwId() throws Exception {
        AmdSigningCertificate turin = AmdSigningCertificate.of(SnpVectors.cert("snp/virtee-sev-milan/vcek_turin.der"));
        assertEquals(Optional.of(SnpProduct.TURIN), turin.product());
        assertEquals(8, turin.hwId().orElseThrow().length);
        assertEquals("1e550a8ee5cf9f4d", HexFormat.of().formatHex(turin.hwId().orElseThrow()));
        assertEquals(OptionalInt.of(0), turin.fmcSpl());
        assertEquals(9, turin.microcodeSpl());
        AmdSigningCertificate milan = AmdSigningCertificate.of(SnpVectors.cert("snp/go-sev-guest-milan/vcek.testcer"));
        assertEquals(Optional.of("Milan-B0"), milan.productName());
        assertEquals(OptionalInt.of(0), milan.stepping());
        assertEquals(SnpSigningKey.VCEK, milan.keyType());
        AmdSigningCertificate vlek = AmdSigningCertificate.of(SnpVectors.cert("snp/trustee-milan/test-vlek.der"));
        assertEquals(SnpSigningKey.VLEK, vlek.keyType());
        assertEquals(Optional.of("CN=cc-us-east-2.amazonaws.com"), vlek.cspId());
        assertEquals(Optional.empty(), vlek.hwId());
    }
}
