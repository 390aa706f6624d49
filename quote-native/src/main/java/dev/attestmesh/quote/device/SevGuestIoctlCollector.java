package dev.attestmesh.quote.device;

import dev.attestmesh.quote.EvidenceParseException;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.snp.SnpReport;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * Collects an SEV-SNP attestation report through the Linux {@code sev-guest} driver's
 * {@code SNP_GET_REPORT} ioctl ({@code include/uapi/linux/sev-guest.h}):
 *
 * <pre>
 * struct snp_guest_request_ioctl {      // 32 bytes; SNP_GET_REPORT = _IOWR('S', 0x0, this) = 0xC0205300
 *   __u8  msg_version;                  //  0: 1
 *   __u64 req_data;                     //  8: -> struct snp_report_req
 *   __u64 resp_data;                    // 16: -> struct snp_report_resp
 *   __u64 exitinfo2;                    // 24: out: fw_error (u32), vmm_error (u32)
 * };
 * struct snp_report_req  { __u8 user_data[64]; __u32 vmpl; __u8 rsvd[28]; };   // 96 bytes
 * struct snp_report_resp { __u8 data[4000]; };  // MSG_REPORT_RSP: status u32, report_size u32,
 *                                               // reserved[24], report at 0x20
 * </pre>
 *
 * Returns the bare 1184-byte report, which {@link dev.attestmesh.quote.snp.SnpReportVerifier} verifies
 * with the chip's VCEK. Thread-safe: each call opens and closes the device.
 */
public final class SevGuestIoctlCollector implements EvidenceCollector {
    /** {@code _IOWR('S', 0x0, struct snp_guest_request_ioctl)}. */
    public static final long SNP_GET_REPORT = 0xC0205300L;
    /** The default device node. */
    public static final Path DEVICE = Path.of("/dev/sev-guest");
    static final int IOCTL_STRUCT_SIZE = 32;
    static final int REQUEST_SIZE = 96;
    static final int RESPONSE_SIZE = 4000;
    static final int REPORT_OFFSET = 0x20;

    private final IoctlDevice device;
    private final Path path;
    private final int vmpl;

    private SevGuestIoctlCollector(IoctlDevice device, Path path, int vmpl) {
        this.device = Objects.requireNonNull(device, "device");
        this.path = Objects.requireNonNull(path, "path");
        if (vmpl < 0 || vmpl > 3) {
            throw new IllegalArgumentException("VMPL must be 0..3, got " + vmpl);
        }
        this.vmpl = vmpl;
    }

    /**
     * @param device the ioctl layer ({@link LibcIoctlDevice} in production)
     * @param path the device node, normally {@link #DEVICE}
     * @param vmpl the VM privilege level to request the report at (0..3; a guest cannot request a
     *     level more privileged than its own)
     */
    public static SevGuestIoctlCollector create(IoctlDevice device, Path path, int vmpl) {
        return new SevGuestIoctlCollector(device, path, vmpl);
    }

    @Override
    public TeeType tee() {
        return TeeType.SNP;
    }

    @Override
    public byte[] collect(byte[] reportData) throws EvidenceCollectionException {
        if (reportData.length != 64) {
            throw new IllegalArgumentException("report data must be 64 bytes, got " + reportData.length);
        }
        byte[] request = new byte[REQUEST_SIZE];
        System.arraycopy(reportData, 0, request, 0, 64);
        ByteBuffer.wrap(request).order(ByteOrder.LITTLE_ENDIAN).putInt(64, vmpl);
        byte[] response = new byte[RESPONSE_SIZE];
        IoctlArgument arg = new IoctlArgument(IOCTL_STRUCT_SIZE).pointTo(8, request).pointTo(16, response);
        arg.struct()[0] = 1; // msg_version
        try (IoctlDevice.Handle h = device.open(path)) {
            h.ioctl(SNP_GET_REPORT, arg);
        } catch (IoctlDevice.IoctlException e) {
            ByteBuffer s = ByteBuffer.wrap(arg.struct()).order(ByteOrder.LITTLE_ENDIAN);
            throw new EvidenceCollectionException("SNP_GET_REPORT on " + path + " failed: " + e.getMessage()
                    + String.format(", firmware error 0x%x, VMM error 0x%x", s.getInt(24), s.getInt(28))
                    + (e.errno() == 13 ? "; run as root or grant access to " + path : ""), e);
        } catch (IOException e) {
            throw new EvidenceCollectionException("cannot use " + path + ": " + e.getMessage(), e);
        }
        ByteBuffer r = ByteBuffer.wrap(response).order(ByteOrder.LITTLE_ENDIAN);
        int status = r.getInt(0);
        int size = r.getInt(4);
        if (status != 0) {
            throw new EvidenceCollectionException(String.format("SEV firmware refused the report request: status 0x%x"
                    + " (0x16 = invalid parameter, e.g. a VMPL more privileged than the guest's)", status));
        }
        if (size != SnpReport.LENGTH) {
            throw new EvidenceCollectionException("SEV firmware returned a report of " + size + " bytes, expected "
                    + SnpReport.LENGTH);
        }
        byte[] report = Arrays.copyOfRange(response, REPORT_OFFSET, REPORT_OFFSET + SnpReport.LENGTH);
        try {
            SnpReport parsed = SnpReport.parse(report);
            if (!Arrays.equals(parsed.reportData(), reportData)) {
                throw new EvidenceCollectionException("the SEV report does not carry the requested report data");
            }
        } catch (EvidenceParseException e) {
            throw new EvidenceCollectionException("SEV firmware returned an unparseable report: " + e.getMessage(), e);
        }
        return report;
    }
}
