package dev.attestmesh.quote.intel;

import dev.attestmesh.quote.EvidenceParseException;
import java.util.Arrays;

/**
 * Bounds-checked little-endian reads over an untrusted byte array. Every read checks the range
 * before touching the array, so a forged length field can only produce an {@link
 * EvidenceParseException}, never an out-of-bounds access or an oversized allocation.
 */
public final class QuoteByteReader {
    private final byte[] data;
    private final String structure;

    public QuoteByteReader(byte[] data, String structure) {
        this.data = data;
        this.structure = structure;
    }

    public int length() {
        return data.length;
    }

    /** Throws unless {@code [offset, offset + size)} lies inside the buffer. */
    public void require(long offset, long size, String field) throws EvidenceParseException {
        if (offset < 0 || size < 0 || offset + size > data.length) {
            throw new EvidenceParseException(structure, offset,
                    field + " needs " + size + " bytes but only " + Math.max(0, data.length - offset)
                            + " remain; the evidence is truncated or a length field is corrupt");
        }
    }

    public int u16(int offset, String field) throws EvidenceParseException {
        require(offset, 2, field);
        return (data[offset] & 0xff) | (data[offset + 1] & 0xff) << 8;
    }

    public long u32(int offset, String field) throws EvidenceParseException {
        require(offset, 4, field);
        return (data[offset] & 0xffL) | (data[offset + 1] & 0xffL) << 8 | (data[offset + 2] & 0xffL) << 16
                | (data[offset + 3] & 0xffL) << 24;
    }

    /** Copies {@code size} bytes; {@code size} is always checked against the buffer first. */
    public byte[] bytes(int offset, long size, String field) throws EvidenceParseException {
        require(offset, size, field);
        return Arrays.copyOfRange(data, offset, offset + (int) size);
    }

    /** Converts an unsigned length field to int after checking it fits in the remaining bytes. */
    public int lengthWithin(long value, int offset, String field) throws EvidenceParseException {
        require(offset, value, field);
        return (int) value;
    }
}
