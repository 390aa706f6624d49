package dev.attestmesh.quote.sim;

import dev.attestmesh.quote.EvidenceParseException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Parsed (untrusted) simulated evidence. Layout, little-endian, documented in docs/evidence.md:
 *
 * <pre>
 * offset size field
 *      0    8 magic "AMSIMEV1"
 *      8    2 version (1)
 *     10    2 flags (bit 0: debug)
 *     12    4 reserved (0)
 *     16   48 measurement
 *     64   64 report data
 *    128    8 issued-at, Unix seconds
 *    136    2 signature length N (8..72)
 *    138    N signature: DER ECDSA P-256 with SHA-256 over bytes [0, 136)
 * </pre>
 */
public record SimulatedEvidence(int flags, byte[] measurement, byte[] reportData, long issuedAtEpochSeconds,
        byte[] signedBytes, byte[] signature) {

    static final byte[] MAGIC = {'A', 'M', 'S', 'I', 'M', 'E', 'V', '1'};
    static final int VERSION = 1;
    static final int SIGNED_LENGTH = 136;
    private static final int HEADER_LENGTH = SIGNED_LENGTH + 2;
    public static final int MEASUREMENT_LENGTH = 48;
    private static final int MAX_SIGNATURE = 72;
    private static final String STRUCTURE = "simulated evidence";

    public boolean debug() {
        return (flags & 1) != 0;
    }

    @Override
    public byte[] measurement() {
        return measurement.clone();
    }

    @Override
    public byte[] reportData() {
        return reportData.clone();
    }

    /** Parses by the structure's own length field; trailing bytes after the signature are ignored. */
    public static SimulatedEvidence parse(byte[] bytes) throws EvidenceParseException {
        if (bytes.length < HEADER_LENGTH) {
            throw new EvidenceParseException(STRUCTURE, bytes.length, "truncated: need at least "
                    + HEADER_LENGTH + " bytes, got " + bytes.length);
        }
        if (!Arrays.equals(bytes, 0, 8, MAGIC, 0, 8)) {
            throw new EvidenceParseException(STRUCTURE, 0, "bad magic; not AttestMesh simulator evidence");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int version = Short.toUnsignedInt(b.getShort(8));
        if (version != VERSION) {
            throw new EvidenceParseException(STRUCTURE, 8, "unsupported version " + version + ", expected " + VERSION);
        }
        int flags = Short.toUnsignedInt(b.getShort(10));
        if ((flags & ~1) != 0) {
            throw new EvidenceParseException(STRUCTURE, 10, "unknown flag bits 0x" + Integer.toHexString(flags));
        }
        byte[] measurement = Arrays.copyOfRange(bytes, 16, 64);
        byte[] reportData = Arrays.copyOfRange(bytes, 64, 128);
        long issuedAt = b.getLong(128);
        int sigLen = Short.toUnsignedInt(b.getShort(SIGNED_LENGTH));
        if (sigLen < 8 || sigLen > MAX_SIGNATURE) {
            throw new EvidenceParseException(STRUCTURE, 136, "signature length " + sigLen + " outside 8.." + MAX_SIGNATURE);
        }
        if (bytes.length < HEADER_LENGTH + sigLen) {
            throw new EvidenceParseException(STRUCTURE, bytes.length, "truncated signature: declared "
                    + sigLen + " bytes, " + (bytes.length - HEADER_LENGTH) + " present");
        }
        return new SimulatedEvidence(flags, measurement, reportData, issuedAt,
                Arrays.copyOfRange(bytes, 0, SIGNED_LENGTH),
                Arrays.copyOfRange(bytes, HEADER_LENGTH, HEADER_LENGTH + sigLen));
    }

    static byte[] encodeSigned(int flags, byte[] measurement, byte[] reportData, long issuedAt) {
        ByteBuffer b = ByteBuffer.allocate(SIGNED_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putShort((short) VERSION).putShort((short) flags).putInt(0);
        b.put(measurement).put(reportData).putLong(issuedAt);
        return b.array();
    }
}
