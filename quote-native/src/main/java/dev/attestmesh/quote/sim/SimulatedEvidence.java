package dev.attestmesh.quote.sim;

import dev.attestmesh.quote.EvidenceParseException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Optional;

/**
 * Parsed (untrusted) simulated evidence. Layout, little-endian, documented in docs/evidence.md:
 *
 * <pre>
 * offset size field
 *      0    8 magic "AMSIMEV1"
 *      8    2 version (1 or 2)
 *     10    2 flags (bit 0: debug)
 *     12    4 reserved (0)
 *     16   48 measurement
 *     64   64 report data
 *    128    8 issued-at, Unix seconds
 * version 1:
 *    136    2 signature length N (8..72)
 *    138    N signature: DER ECDSA P-256 with SHA-256 over bytes [0, 136)
 * version 2:
 *    136   16 platform id
 *    152    2 signature length N (8..72)
 *    154    N signature: DER ECDSA P-256 with SHA-256 over bytes [0, 152)
 * </pre>
 *
 * <p>The simulator writes version 2; version 1 (no platform id) is still read.
 *
 * @param version the format version, 1 or 2
 * @param flags the flags field
 * @param measurement 48 bytes
 * @param reportData 64 bytes
 * @param issuedAtEpochSeconds when the simulator produced it
 * @param platformId the simulated platform's 16-byte identifier (version 2); empty for version 1
 * @param signedBytes the bytes the signature covers
 * @param signature the DER signature
 */
public record SimulatedEvidence(int version, int flags, byte[] measurement, byte[] reportData,
        long issuedAtEpochSeconds, Optional<byte[]> platformId, byte[] signedBytes, byte[] signature) {

    static final byte[] MAGIC = {'A', 'M', 'S', 'I', 'M', 'E', 'V', '1'};
    /** The version the simulator writes. */
    static final int VERSION = 2;
    static final int VERSION_1 = 1;
    static final int SIGNED_LENGTH_V1 = 136;
    static final int SIGNED_LENGTH = 152;
    static final int PLATFORM_ID_OFFSET = 136;
    public static final int MEASUREMENT_LENGTH = 48;
    /** Length of the simulated platform id. */
    public static final int PLATFORM_ID_LENGTH = 16;
    private static final int MAX_SIGNATURE = 72;
    private static final String STRUCTURE = "simulated evidence";

    public SimulatedEvidence {
        platformId = platformId.map(byte[]::clone);
    }

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

    @Override
    public Optional<byte[]> platformId() {
        return platformId.map(byte[]::clone);
    }

    @Override
    public byte[] signedBytes() {
        return signedBytes.clone();
    }

    @Override
    public byte[] signature() {
        return signature.clone();
    }

    /** Whether {@code bytes} start with the simulator's magic (framing only; {@link #parse} checks the rest). */
    public static boolean hasMagic(byte[] bytes) {
        return bytes.length >= MAGIC.length && Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length);
    }

    /** Parses by the structure's own length field; trailing bytes after the signature are ignored. */
    public static SimulatedEvidence parse(byte[] bytes) throws EvidenceParseException {
        if (bytes.length < SIGNED_LENGTH_V1 + 2) {
            throw new EvidenceParseException(STRUCTURE, bytes.length, "truncated: need at least "
                    + (SIGNED_LENGTH_V1 + 2) + " bytes, got " + bytes.length);
        }
        if (!Arrays.equals(bytes, 0, 8, MAGIC, 0, 8)) {
            throw new EvidenceParseException(STRUCTURE, 0, "bad magic; not AttestMesh simulator evidence");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int version = Short.toUnsignedInt(b.getShort(8));
        if (version != VERSION && version != VERSION_1) {
            throw new EvidenceParseException(STRUCTURE, 8, "unsupported version " + version + ", expected "
                    + VERSION_1 + " or " + VERSION);
        }
        int signedLength = version == VERSION ? SIGNED_LENGTH : SIGNED_LENGTH_V1;
        int headerLength = signedLength + 2;
        if (bytes.length < headerLength) {
            throw new EvidenceParseException(STRUCTURE, bytes.length, "truncated: version " + version + " needs at least "
                    + headerLength + " bytes, got " + bytes.length);
        }
        int flags = Short.toUnsignedInt(b.getShort(10));
        if ((flags & ~1) != 0) {
            throw new EvidenceParseException(STRUCTURE, 10, "unknown flag bits 0x" + Integer.toHexString(flags));
        }
        byte[] measurement = Arrays.copyOfRange(bytes, 16, 64);
        byte[] reportData = Arrays.copyOfRange(bytes, 64, 128);
        long issuedAt = b.getLong(128);
        Optional<byte[]> platformId = version == VERSION
                ? Optional.of(Arrays.copyOfRange(bytes, PLATFORM_ID_OFFSET, PLATFORM_ID_OFFSET + PLATFORM_ID_LENGTH))
                : Optional.empty();
        int sigLen = Short.toUnsignedInt(b.getShort(signedLength));
        if (sigLen < 8 || sigLen > MAX_SIGNATURE) {
            throw new EvidenceParseException(STRUCTURE, signedLength, "signature length " + sigLen + " outside 8.."
                    + MAX_SIGNATURE);
        }
        if (bytes.length < headerLength + sigLen) {
            throw new EvidenceParseException(STRUCTURE, bytes.length, "truncated signature: declared "
                    + sigLen + " bytes, " + (bytes.length - headerLength) + " present");
        }
        return new SimulatedEvidence(version, flags, measurement, reportData, issuedAt, platformId,
                Arrays.copyOfRange(bytes, 0, signedLength),
                Arrays.copyOfRange(bytes, headerLength, headerLength + sigLen));
    }

    /** The signed part of a version 2 structure. */
    static byte[] encodeSigned(int flags, byte[] measurement, byte[] reportData, long issuedAt, byte[] platformId) {
        ByteBuffer b = ByteBuffer.allocate(SIGNED_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putShort((short) VERSION).putShort((short) flags).putInt(0);
        b.put(measurement).put(reportData).putLong(issuedAt).put(platformId);
        return b.array();
    }

    /** The signed part of a version 1 structure, kept so tests can show old evidence still verifies. */
    static byte[] encodeSignedV1(int flags, byte[] measurement, byte[] reportData, long issuedAt) {
        ByteBuffer b = ByteBuffer.allocate(SIGNED_LENGTH_V1).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putShort((short) VERSION_1).putShort((short) flags).putInt(0);
        b.put(measurement).put(reportData).putLong(issuedAt);
        return b.array();
    }

    /** Signed bytes, then the signature length and the signature. */
    static byte[] frame(byte[] signed, byte[] signature) {
        return ByteBuffer.allocate(signed.length + 2 + signature.length).order(ByteOrder.LITTLE_ENDIAN)
                .put(signed).putShort((short) signature.length).put(signature).array();
    }
}
