package dev.attestmesh.policy;

/**
 * Masked equality for attribute-like claims ({@code td_attributes}, {@code xfam}, SNP {@code
 * policy}, SGX {@code miscselect}): the claim passes when {@code (observed & mask) == (expected & mask)}.
 * Values are unsigned 64-bit integers; a claim that the evidence reports as bytes is read as a
 * little-endian integer, the byte order TDX and SEV-SNP use.
 *
 * @param expected expected bits
 * @param mask which bits are compared
 */
public record MaskedValue(long expected, long mask) {
    public boolean matches(long observed) {
        return (observed & mask) == (expected & mask);
    }

    /** {@code 0x}-prefixed hex, as documents and messages show it. */
    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    @Override
    public String toString() {
        return "(value & " + hex(mask) + ") == " + hex(expected & mask);
    }
}
