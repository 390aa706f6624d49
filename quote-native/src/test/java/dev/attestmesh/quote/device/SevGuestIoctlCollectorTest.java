package dev.attestmesh.quote.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.snp.SnpReport;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SevGuestIoctlCollectorTest {
    private static final Path DEV = Path.of("/dev/sev-guest");

    private static byte[] reportData() {
        byte[] d = new byte[64];
        for (int i = 0; i < 64; i++) {
            d[i] = (byte) (0xA0 + i);
        }
        return d;
    }

    /** Plays the sev-guest driver, checking the request layout byte by byte. */
    private static FakeIoctlDevice firmware(int vmplExpected, byte[] reportDataInReport, int status) {
        return new FakeIoctlDevice((request, arg) -> {
            assertEquals(0xC0205300L, request, "SNP_GET_REPORT = _IOWR('S', 0, 32-byte struct)");
            byte[] s = arg.struct();
            assertEquals(32, s.length, "sizeof(struct snp_guest_request_ioctl)");
            assertEquals(1, s[0], "msg_version");
            assertArrayEquals(new byte[31], Arrays.copyOfRange(s, 1, 32), "padding, pointers (native) and exitinfo2 start zero");
            Map<Integer, byte[]> p = arg.pointees();
            assertEquals(List.of(8, 16), List.copyOf(p.keySet()), "req_data at 8, resp_data at 16");
            byte[] req = p.get(8);
            assertEquals(96, req.length, "sizeof(struct snp_report_req)");
            assertArrayEquals(reportData(), Arrays.copyOf(req, 64), "user_data");
            assertEquals(vmplExpected, ByteBuffer.wrap(req).order(ByteOrder.LITTLE_ENDIAN).getInt(64), "vmpl");
            assertArrayEquals(new byte[28], Arrays.copyOfRange(req, 68, 96), "rsvd");
            byte[] resp = p.get(16);
            assertEquals(4000, resp.length, "sizeof(struct snp_report_resp)");
            ByteBuffer r = ByteBuffer.wrap(resp).order(ByteOrder.LITTLE_ENDIAN);
            r.putInt(0, status);
            r.putInt(4, SnpReport.LENGTH);
            r.putInt(0x20, 3); // report version
            r.putInt(0x20 + 0x30, vmplExpected);
            System.arraycopy(reportDataInReport, 0, resp, 0x20 + 0x50, 64);
        });
    }

    @Test
    void requestsAReportAtTheConfiguredVmplAndReturnsTheBareReport() throws Exception {
        FakeIoctlDevice dev = firmware(2, reportData(), 0);
        SevGuestIoctlCollector c = SevGuestIoctlCollector.create(dev, DEV, 2);
        assertEquals(TeeType.SNP, c.tee());
        byte[] report = c.collect(reportData());
        assertEquals(SnpReport.LENGTH, report.length);
        SnpReport parsed = SnpReport.parse(report);
        assertArrayEquals(reportData(), parsed.reportData());
        assertEquals(2, parsed.vmpl());
        assertEquals(List.of(DEV), dev.opened);
        assertEquals(1, dev.closed);
    }

    @Test
    void reportsTheFirmwareErrorWhenTheIoctlFails() {
        FakeIoctlDevice dev = new FakeIoctlDevice((request, arg) -> {
            ByteBuffer.wrap(arg.struct()).order(ByteOrder.LITTLE_ENDIAN).putInt(24, 0x16);
            throw new IoctlDevice.IoctlException("ioctl failed", 5);
        });
        EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class,
                () -> SevGuestIoctlCollector.create(dev, DEV, 0).collect(reportData()));
        assertTrue(e.getMessage().contains("firmware error 0x16") && e.getMessage().contains("errno 5"), e.getMessage());
        assertEquals(1, dev.closed, "the device is closed after a failure");
    }

    @Test
    void rejectsANonZeroFirmwareStatus() {
        EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class,
                () -> SevGuestIoctlCollector.create(firmware(0, reportData(), 0x16), DEV, 0).collect(reportData()));
        assertTrue(e.getMessage().contains("status 0x16"), e.getMessage());
    }

    @Test
    void rejectsAReportThatDoesNotCarryTheRequestedData() {
        assertThrows(EvidenceCollectionException.class,
                () -> SevGuestIoctlCollector.create(firmware(0, new byte[64], 0), DEV, 0).collect(reportData()));
    }

    @Test
    void refusesAnInvalidVmpl() {
        assertThrows(IllegalArgumentException.class, () -> SevGuestIoctlCollector.create(firmware(0, reportData(), 0), DEV, 4));
    }
}
