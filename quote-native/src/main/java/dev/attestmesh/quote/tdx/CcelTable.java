package dev.attestmesh.quote.tdx;

import dev.attestmesh.quote.EvidenceParseException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The ACPI CCEL table (Confidential Computing Event Log, ACPI 6.5 section 5.2.34), parsed
 * <b>untrusted</b>: where the firmware put the event log and how large its area is.
 *
 * @param ccType 2 for TDX
 * @param ccSubtype the CC subtype
 * @param logAreaMinimumLength LAML, the size of the log area in bytes
 * @param logAreaStartAddress LASA, its guest-physical address
 */
public record CcelTable(int ccType, int ccSubtype, long logAreaMinimumLength, long logAreaStartAddress) {
    /** The table's length: a 36-byte ACPI header, then CC type, subtype, reserved, LAML and LASA. */
    public static final int LENGTH = 56;
    /** CC type of Intel TDX. */
    public static final int CC_TYPE_TDX = 2;
    private static final String STRUCTURE = "ACPI CCEL table";

    public static CcelTable parse(byte[] bytes) throws EvidenceParseException {
        if (bytes.length < LENGTH) {
            throw new EvidenceParseException(STRUCTURE, bytes.length, "truncated: " + bytes.length + " bytes, need " + LENGTH);
        }
        if (!new String(bytes, 0, 4, StandardCharsets.US_ASCII).equals("CCEL")) {
            throw new EvidenceParseException(STRUCTURE, 0, "signature is not \"CCEL\"");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long length = Integer.toUnsignedLong(b.getInt(4));
        if (length != bytes.length || length != LENGTH) {
            throw new EvidenceParseException(STRUCTURE, 4, "length field " + length + " but " + bytes.length
                    + " bytes given (a CCEL table is " + LENGTH + ")");
        }
        int sum = 0;
        for (byte x : bytes) {
            sum += x;
        }
        if ((sum & 0xff) != 0) {
            throw new EvidenceParseException(STRUCTURE, 9, "checksum does not sum the table to zero");
        }
        return new CcelTable(bytes[36] & 0xff, bytes[37] & 0xff, b.getLong(40), b.getLong(48));
    }
}
