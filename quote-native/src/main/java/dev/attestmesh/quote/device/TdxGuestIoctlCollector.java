package dev.attestmesh.quote.device;

import dev.attestmesh.quote.TeeType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * Obtains a TDX <b>TDREPORT</b> (1024 bytes) through the Linux {@code tdx_guest} driver's
 * {@code TDX_CMD_GET_REPORT0} ioctl ({@code include/uapi/linux/tdx-guest.h}):
 *
 * <pre>
 * struct tdx_report_req {      // 1088 bytes; TDX_CMD_GET_REPORT0 = _IOWR('T', 1, this) = 0xC4405401
 *   __u8 reportdata[64];       // in
 *   __u8 tdreport[1024];       // out: REPORTMACSTRUCT (256, REPORTDATA at 128), TEE_TCB_INFO (239), ...
 * };
 * </pre>
 *
 * <p>A TDREPORT is MAC'd with a key only the local CPU can check: it is <b>not</b> remotely verifiable
 * and the TDX verifier does not accept it. A remotely verifiable quote needs the TD Quoting Enclave,
 * reached through a quote generation service (QGS); on Linux 6.7+ use {@link ConfigfsTsmCollector},
 * which returns a signed quote. This collector exists for local checks (for instance reading RTMRs or
 * checking that the guest is a TD) and for quote generation stacks that take a TDREPORT as input.
 */
public final class TdxGuestIoctlCollector implements EvidenceCollector {
    /** {@code _IOWR('T', 1, struct tdx_report_req)}. */
    public static final long TDX_CMD_GET_REPORT0 = 0xC4405401L;
    /** The default device node. */
    public static final Path DEVICE = Path.of("/dev/tdx_guest");
    /** Size of a TDREPORT. */
    public static final int TDREPORT_LENGTH = 1024;
    static final int REPORT_DATA_IN_TDREPORT = 128;

    private final IoctlDevice device;
    private final Path path;

    private TdxGuestIoctlCollector(IoctlDevice device, Path path) {
        this.device = Objects.requireNonNull(device, "device");
        this.path = Objects.requireNonNull(path, "path");
    }

    /** A collector on {@code path} (normally {@link #DEVICE}) through {@code device}. */
    public static TdxGuestIoctlCollector create(IoctlDevice device, Path path) {
        return new TdxGuestIoctlCollector(device, path);
    }

    @Override
    public TeeType tee() {
        return TeeType.TDX;
    }

    /** Returns the 1024-byte TDREPORT binding {@code reportData} (not a quote; see the class comment). */
    @Override
    public byte[] collect(byte[] reportData) throws EvidenceCollectionException {
        if (reportData.length != 64) {
            throw new IllegalArgumentException("report data must be 64 bytes, got " + reportData.length);
        }
        IoctlArgument arg = new IoctlArgument(64 + TDREPORT_LENGTH);
        System.arraycopy(reportData, 0, arg.struct(), 0, 64);
        try (IoctlDevice.Handle h = device.open(path)) {
            h.ioctl(TDX_CMD_GET_REPORT0, arg);
        } catch (IOException e) {
            throw new EvidenceCollectionException("TDX_CMD_GET_REPORT0 on " + path + " failed: " + e.getMessage(), e);
        }
        byte[] tdreport = Arrays.copyOfRange(arg.struct(), 64, 64 + TDREPORT_LENGTH);
        if (!Arrays.equals(tdreport, REPORT_DATA_IN_TDREPORT, REPORT_DATA_IN_TDREPORT + 64, reportData, 0, 64)) {
            throw new EvidenceCollectionException("the TDREPORT from " + path + " does not carry the requested report data");
        }
        return tdreport;
    }
}
