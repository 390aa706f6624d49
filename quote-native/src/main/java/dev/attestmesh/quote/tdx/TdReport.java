package dev.attestmesh.quote.tdx;

import dev.attestmesh.quote.EvidenceParseException;
import dev.attestmesh.quote.intel.QuoteByteReader;
import java.util.Optional;

/**
 * A TD quote body: {@code sgx_report2_body_t} (TDX 1.0, 584 bytes) or {@code
 * sgx_report2_body_v1_5_t} (TDX 1.5, 648 bytes, adding TEE_TCB_SVN2 and MRSERVICETD). Untrusted
 * until the quote signature verifies.
 */
public record TdReport(byte[] teeTcbSvn, byte[] mrSeam, byte[] mrSignerSeam, byte[] seamAttributes,
        byte[] tdAttributes, byte[] xfam, byte[] mrTd, byte[] mrConfigId, byte[] mrOwner, byte[] mrOwnerConfig,
        byte[] rtmr0, byte[] rtmr1, byte[] rtmr2, byte[] rtmr3, byte[] reportData,
        Optional<byte[]> teeTcbSvn2, Optional<byte[]> mrServiceTd) {

    public static final int SIZE_TDX10 = 584;
    public static final int SIZE_TDX15 = 648;

    /** Whether TDATTRIBUTES.DEBUG (bit 0) is set: the host can read and modify the TD's state. */
    public boolean debug() {
        return (tdAttributes[0] & 0x01) != 0;
    }

    /** Reads a body of {@code size} ({@link #SIZE_TDX10} or {@link #SIZE_TDX15}) at {@code at}. */
    static TdReport read(QuoteByteReader r, int at, int size) throws EvidenceParseException {
        r.require(at, size, "TD report body");
        boolean v15 = size == SIZE_TDX15;
        return new TdReport(r.bytes(at, 16, "TEE_TCB_SVN"), r.bytes(at + 16, 48, "MRSEAM"),
                r.bytes(at + 64, 48, "MRSIGNERSEAM"), r.bytes(at + 112, 8, "SEAMATTRIBUTES"),
                r.bytes(at + 120, 8, "TDATTRIBUTES"), r.bytes(at + 128, 8, "XFAM"), r.bytes(at + 136, 48, "MRTD"),
                r.bytes(at + 184, 48, "MRCONFIGID"), r.bytes(at + 232, 48, "MROWNER"),
                r.bytes(at + 280, 48, "MROWNERCONFIG"), r.bytes(at + 328, 48, "RTMR0"), r.bytes(at + 376, 48, "RTMR1"),
                r.bytes(at + 424, 48, "RTMR2"), r.bytes(at + 472, 48, "RTMR3"), r.bytes(at + 520, 64, "REPORTDATA"),
                v15 ? Optional.of(r.bytes(at + 584, 16, "TEE_TCB_SVN2")) : Optional.empty(),
                v15 ? Optional.of(r.bytes(at + 600, 48, "MRSERVICETD")) : Optional.empty());
    }
}
