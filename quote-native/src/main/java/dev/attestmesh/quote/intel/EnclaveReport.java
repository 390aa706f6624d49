package dev.attestmesh.quote.intel;

import dev.attestmesh.quote.EvidenceParseException;

/**
 * An SGX enclave report body ({@code sgx_report_body_t}, 384 bytes): the ISV enclave body of an SGX
 * quote and the QE report of every DCAP quote. Untrusted until the signature covering it verifies.
 *
 * @param raw the exact 384 bytes, as signed
 * @param cpuSvn 16 bytes
 * @param miscSelect MISCSELECT as an unsigned 32-bit value
 * @param attributes 16 bytes (flags u64 then xfrm u64, little-endian)
 * @param mrEnclave 32 bytes
 * @param mrSigner 32 bytes
 * @param configId 64 bytes
 * @param isvProdId product ID
 * @param isvSvn security version
 * @param configSvn config security version
 * @param reportData 64 bytes of enclave-chosen data
 */
public record EnclaveReport(byte[] raw, byte[] cpuSvn, long miscSelect, byte[] attributes, byte[] mrEnclave,
        byte[] mrSigner, byte[] configId, int isvProdId, int isvSvn, int configSvn, byte[] reportData) {

    public static final int SIZE = 384;

    /** Whether ATTRIBUTES.DEBUG (flags bit 1) is set: the enclave's memory is readable by a debugger. */
    public boolean debug() {
        return (attributes[0] & 0x02) != 0;
    }

    /** Parses the 384 bytes at {@code offset}. */
    public static EnclaveReport read(QuoteByteReader r, int offset) throws EvidenceParseException {
        r.require(offset, SIZE, "enclave report");
        return new EnclaveReport(r.bytes(offset, SIZE, "enclave report"), r.bytes(offset, 16, "CPUSVN"),
                r.u32(offset + 16, "MISCSELECT"), r.bytes(offset + 48, 16, "ATTRIBUTES"),
                r.bytes(offset + 64, 32, "MRENCLAVE"), r.bytes(offset + 128, 32, "MRSIGNER"),
                r.bytes(offset + 192, 64, "CONFIGID"), r.u16(offset + 256, "ISVPRODID"),
                r.u16(offset + 258, "ISVSVN"), r.u16(offset + 260, "CONFIGSVN"),
                r.bytes(offset + 320, 64, "REPORTDATA"));
    }
}
