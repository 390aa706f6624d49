package dev.attestmesh.quote;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PlatformIdTest {

    @Test
    void textFormIsTheKindThenLowerCaseHex() {
        byte[] ppid = new byte[16];
        ppid[0] = (byte) 0xAB;
        assertEquals("sgx-ppid:ab" + "00".repeat(15), new PlatformId(PlatformId.Kind.SGX_PPID, ppid).value());
        byte[] chip = new byte[64];
        chip[63] = 1;
        assertEquals("snp-chip:" + "00".repeat(63) + "01", new PlatformId(PlatformId.Kind.SNP_CHIP, chip).value());
    }

    @Test
    void parseRoundTripsAndNormalisesUpperCase() {
        PlatformId p = PlatformId.parse("SIM:00112233445566778899AABBCCDDEEFF");
        assertEquals(PlatformId.Kind.SIM, p.kind());
        assertEquals("sim:00112233445566778899aabbccddeeff", p.value());
        assertEquals(p, PlatformId.parse(p.value()));
        byte[] chip = new byte[64];
        java.util.Arrays.fill(chip, (byte) 0x7f);
        assertArrayEquals(chip, PlatformId.parse("snp-chip:" + "7f".repeat(64)).id());
    }

    @Test
    void parseRejectsUnknownKindsWrongLengthsAndNonHex() {
        assertThrows(IllegalArgumentException.class, () -> PlatformId.parse("tpm-ek:" + "00".repeat(16)));
        assertThrows(IllegalArgumentException.class, () -> PlatformId.parse("00".repeat(16)));
        assertThrows(IllegalArgumentException.class, () -> PlatformId.parse("sgx-ppid:" + "00".repeat(15)));
        assertThrows(IllegalArgumentException.class, () -> PlatformId.parse("snp-chip:" + "00".repeat(16)));
        assertThrows(IllegalArgumentException.class, () -> PlatformId.parse("sim:" + "zz".repeat(16)));
        assertThrows(IllegalArgumentException.class, () -> new PlatformId(PlatformId.Kind.SIM, new byte[17]));
    }

    @Test
    void verifiedEvidenceNormalisesAndValidatesItsPlatformId() {
        VerifiedEvidence e = evidence(Optional.of("SGX-PPID:" + "AB".repeat(16)));
        assertEquals(Optional.of("sgx-ppid:" + "ab".repeat(16)), e.platformId());
        assertEquals(e, evidence(Optional.of("sgx-ppid:" + "ab".repeat(16))));
        assertEquals(Optional.empty(), evidence(Optional.empty()).platformId());
        assertThrows(IllegalArgumentException.class, () -> evidence(Optional.of("sgx-ppid:abc")));
    }

    private static VerifiedEvidence evidence(Optional<String> platformId) {
        return new VerifiedEvidence(TeeType.SGX, TcbStatus.UP_TO_DATE, List.of(), false, false, new byte[64],
                Map.of("mrenclave", "00".repeat(32)), Map.of(), new byte[32], Optional.empty(), platformId);
    }
}
