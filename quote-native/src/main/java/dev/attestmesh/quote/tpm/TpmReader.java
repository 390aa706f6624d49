package dev.attestmesh.quote.tpm;

import dev.attestmesh.quote.EvidenceParseException;
import java.util.Arrays;

/**
 * Reads TPM 2.0 marshalled data (big-endian integers, {@code TPM2B} size-prefixed buffers) with every
 * length checked against the buffer, so that a truncated or lying structure fails with an {@link
 * EvidenceParseException} naming the structure and offset.
 */
public final class TpmReader {
    private final byte[] bytes;
    private final String structure;
    private int pos;
    private final int end;

    public TpmReader(byte[] bytes, String structure) {
        this(bytes, 0, bytes.length, structure);
    }

    public TpmReader(byte[] bytes, int from, int to, String structure) {
        this.bytes = bytes;
        this.pos = from;
        this.end = to;
        this.structure = structure;
    }

    public int position() {
        return pos;
    }

    public int remaining() {
        return end - pos;
    }

    private void need(int n, String what) throws EvidenceParseException {
        if (n < 0 || end - pos < n) {
            throw new EvidenceParseException(structure, pos, "truncated: " + what + " needs " + n + " bytes, "
                    + (end - pos) + " left");
        }
    }

    public int u8(String what) throws EvidenceParseException {
        need(1, what);
        return bytes[pos++] & 0xff;
    }

    public int u16(String what) throws EvidenceParseException {
        need(2, what);
        int v = ((bytes[pos] & 0xff) << 8) | (bytes[pos + 1] & 0xff);
        pos += 2;
        return v;
    }

    public long u32(String what) throws EvidenceParseException {
        need(4, what);
        long v = ((long) (bytes[pos] & 0xff) << 24) | ((bytes[pos + 1] & 0xff) << 16) | ((bytes[pos + 2] & 0xff) << 8)
                | (bytes[pos + 3] & 0xff);
        pos += 4;
        return v;
    }

    public long u64(String what) throws EvidenceParseException {
        long hi = u32(what);
        long lo = u32(what);
        return (hi << 32) | lo;
    }

    public byte[] bytes(int n, String what) throws EvidenceParseException {
        need(n, what);
        byte[] out = Arrays.copyOfRange(bytes, pos, pos + n);
        pos += n;
        return out;
    }

    /** A {@code TPM2B}: a u16 size then that many bytes, at most {@code max}. */
    public byte[] tpm2b(int max, String what) throws EvidenceParseException {
        int at = pos;
        int n = u16(what + " size");
        if (n > max) {
            throw new EvidenceParseException(structure, at, what + " is " + n + " bytes; at most " + max + " allowed");
        }
        return bytes(n, what);
    }

    /** Fails unless every byte was consumed. */
    public void expectEnd() throws EvidenceParseException {
        if (pos != end) {
            throw new EvidenceParseException(structure, pos, (end - pos) + " unexpected trailing bytes");
        }
    }
}
