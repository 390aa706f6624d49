package dev.attestmesh.quote;

/**
 * Bytes that do not form evidence of the claimed format: wrong magic or version, a length field
 * that points outside the buffer, a truncated structure. This is the only exception a parser may
 * throw for bad input.
 */
public final class EvidenceParseException extends Exception {
    private final String structure;
    private final long offset;

    /**
     * @param structure the structure being parsed, e.g. {@code "TDX quote v4 header"}
     * @param offset byte offset where the problem was found, or -1 when not positional
     * @param message what was wrong
     */
    public EvidenceParseException(String structure, long offset, String message) {
        super(structure + (offset >= 0 ? " at offset " + offset : "") + ": " + message);
        this.structure = structure;
        this.offset = offset;
    }

    public String structure() {
        return structure;
    }

    public long offset() {
        return offset;
    }
}
