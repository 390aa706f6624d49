package dev.attestmesh.quote.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.TeeType;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class TdxGuestIoctlCollectorTest {
    private static final Path DEV = Path.of("/dev/tdx_guest");

    private static byte[] reportData() {
        byte[] d = new byte[64];
        Arrays.fill(d, (byte) 0x5A);
        d[63] = 1;
        return d;
    }

    @Test
    void issuesGetReport0WithTheReportDataAndReturnsTheTdreport() throws Exception {
        FakeIoctlDevice dev = new FakeIoctlDevice((request, arg) -> {
            assertEquals(0xC4405401L, request, "TDX_CMD_GET_REPORT0 = _IOWR('T', 1, 1088-byte struct)");
            byte[] s = arg.struct();
            assertEquals(1088, s.length, "sizeof(struct tdx_report_req)");
            assertTrue(arg.pointees().isEmpty(), "the TDX request struct carries no pointers");
            assertArrayEquals(reportData(), Arrays.copyOf(s, 64), "reportdata");
            assertArrayEquals(new byte[1024], Arrays.copyOfRange(s, 64, 1088), "tdreport starts zero");
            s[64] = (byte) 0x81; // REPORTTYPE.type = TDX
            System.arraycopy(s, 0, s, 64 + 128, 64); // REPORTMACSTRUCT.REPORTDATA
        });
        TdxGuestIoctlCollector c = TdxGuestIoctlCollector.create(dev, DEV);
        assertEquals(TeeType.TDX, c.tee());
        byte[] tdreport = c.collect(reportData());
        assertEquals(1024, tdreport.length);
        assertEquals((byte) 0x81, tdreport[0]);
        assertArrayEquals(reportData(), Arrays.copyOfRange(tdreport, 128, 192));
        assertEquals(1, dev.closed);
    }

    @Test
    void rejectsATdreportOverOtherData() {
        FakeIoctlDevice dev = new FakeIoctlDevice((request, arg) -> { });
        assertThrows(EvidenceCollectionException.class, () -> TdxGuestIoctlCollector.create(dev, DEV).collect(reportData()));
    }

    @Test
    void wrapsIoctlFailures() {
        FakeIoctlDevice dev = new FakeIoctlDevice((request, arg) -> {
            throw new IoctlDevice.IoctlException("ioctl failed", 22);
        });
        EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class,
                () -> TdxGuestIoctlCollector.create(dev, DEV).collect(reportData()));
        assertTrue(e.getMessage().contains("errno 22"), e.getMessage());
    }
}
