package dev.attestmesh.quote.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SevGuestDerivedKeyTest {
    private static final Path DEV = Path.of("/dev/sev-guest");

    static byte[] key(int seed) {
        byte[] k = new byte[32];
        Arrays.fill(k, (byte) seed);
        return k;
    }

    /** Plays the sev-guest driver's SNP_GET_DERIVED_KEY, checking the request layout byte by byte. */
    private static FakeIoctlDevice firmware(byte[] key, int status) {
        return new FakeIoctlDevice((request, arg) -> {
            assertEquals(0xC0205301L, request, "SNP_GET_DERIVED_KEY = _IOWR('S', 1, 32-byte struct)");
            byte[] s = arg.struct();
            assertEquals(32, s.length);
            assertEquals(1, s[0], "msg_version");
            Map<Integer, byte[]> p = arg.pointees();
            assertEquals(List.of(8, 16), List.copyOf(p.keySet()), "req_data at 8, resp_data at 16");
            ByteBuffer req = ByteBuffer.wrap(p.get(8)).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(32, p.get(8).length, "sizeof(struct snp_derived_key_req)");
            assertEquals(0, req.getInt(0), "root_key_select: VCEK");
            assertEquals(0b1001L, req.getLong(8), "guest_field_select: guest policy and measurement");
            assertEquals(0, req.getInt(16), "vmpl");
            assertEquals(0, req.getInt(20), "guest_svn");
            assertEquals(0, req.getLong(24), "tcb_version");
            byte[] resp = p.get(16);
            assertEquals(64, resp.length, "sizeof(struct snp_derived_key_resp)");
            ByteBuffer.wrap(resp).order(ByteOrder.LITTLE_ENDIAN).putInt(0, status);
            System.arraycopy(key, 0, resp, 0x20, 32);
        });
    }

    @Test
    void derivesTheKeyFromTheMessageKeyResponse() throws Exception {
        FakeIoctlDevice dev = firmware(key(7), 0);
        assertArrayEquals(key(7), SevGuestDerivedKey.derive(dev, DEV, 0, SevGuestDerivedKey.FIELDS_POLICY_AND_MEASUREMENT));
        assertEquals(List.of(DEV), dev.opened);
        assertEquals(1, dev.closed);
    }

    @Test
    void aFirmwareErrorOrAnAllZeroKeyIsRefused() {
        var e = assertThrows(EvidenceCollectionException.class, () -> SevGuestDerivedKey.derive(firmware(key(7), 0x16), DEV,
                0, SevGuestDerivedKey.FIELDS_POLICY_AND_MEASUREMENT));
        assertTrue(e.getMessage().contains("status 0x16"), e.getMessage());
        assertThrows(EvidenceCollectionException.class, () -> SevGuestDerivedKey.derive(firmware(new byte[32], 0), DEV, 0,
                SevGuestDerivedKey.FIELDS_POLICY_AND_MEASUREMENT));
        var io = assertThrows(EvidenceCollectionException.class, () -> SevGuestDerivedKey.derive(new FakeIoctlDevice(
                (r, a) -> {
                    throw new IoctlDevice.IoctlException("ioctl", 5);
                }), DEV, 0, SevGuestDerivedKey.FIELDS_POLICY_AND_MEASUREMENT));
        assertTrue(io.getMessage().contains("errno 5"), io.getMessage());
    }

    @Test
    void readsGraminesMrenclaveKeyAndRefusesAnotherLength() throws Exception {
        Path root = Files.createTempDirectory("gramine");
        Files.createDirectories(root.resolve("keys"));
        Files.write(root.resolve("keys/_sgx_mrenclave"), Arrays.copyOf(key(3), 16));
        assertArrayEquals(Arrays.copyOf(key(3), 16), GramineSealingKey.read(root));
        Files.write(root.resolve("keys/_sgx_mrenclave"), key(3));
        var e = assertThrows(EvidenceCollectionException.class, () -> GramineSealingKey.read(root));
        assertTrue(e.getMessage().contains("expected a 16-byte"), e.getMessage());
    }
}
