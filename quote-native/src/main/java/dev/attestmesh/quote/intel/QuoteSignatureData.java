package dev.attestmesh.quote.intel;

import dev.attestmesh.quote.EvidenceParseException;

/**
 * The ECDSA signature data of a DCAP quote, in the same shape for v3 and v4/v5 (which wrap the QE
 * part in certification data type 6). Untrusted: it carries the very keys that must be checked.
 *
 * @param quoteSignature 64 bytes raw r||s, big-endian, over header and body
 * @param attestationKey 64 bytes x||y of the P-256 attestation key
 * @param qeReport the QE's report, signed by the PCK key
 * @param qeReportSignature 64 bytes raw r||s
 * @param qeAuthData QE authentication data, bound into the QE report data
 * @param certificationDataType 5 = PCK certificate chain (the only type verification accepts)
 * @param certificationData the PEM chain (leaf, intermediate CA, root), possibly NUL-terminated
 */
public record QuoteSignatureData(byte[] quoteSignature, byte[] attestationKey, EnclaveReport qeReport,
        byte[] qeReportSignature, byte[] qeAuthData, int certificationDataType, byte[] certificationData) {

    /** Certification data type carrying a PEM PCK chain. */
    public static final int PCK_CERT_CHAIN = 5;
    /** Certification data type wrapping the QE report (v4 and v5). */
    public static final int QE_REPORT_CERTIFICATION_DATA = 6;

    /**
     * Parses v3 signature data ({@code sgx_ql_ecdsa_sig_data_t}) starting at {@code offset}, within
     * {@code length} declared bytes.
     */
    public static QuoteSignatureData readV3(QuoteByteReader r, int offset, int length) throws EvidenceParseException {
        int end = offset + length;
        r.require(offset, 128 + EnclaveReport.SIZE + 64 + 2, "v3 signature data");
        byte[] sig = r.bytes(offset, 64, "quote signature");
        byte[] key = r.bytes(offset + 64, 64, "attestation key");
        return readQePart(r, offset + 128, end, sig, key);
    }

    /**
     * Parses v4/v5 signature data ({@code sgx_ecdsa_sig_data_v4_t}): signature, key, then
     * certification data of type 6 that wraps the QE report, its signature, auth data and the PCK
     * chain.
     */
    public static QuoteSignatureData readV4(QuoteByteReader r, int offset, int length) throws EvidenceParseException {
        int end = offset + length;
        r.require(offset, 134, "v4 signature data");
        byte[] sig = r.bytes(offset, 64, "quote signature");
        byte[] key = r.bytes(offset + 64, 64, "attestation key");
        int type = r.u16(offset + 128, "certification data type");
        if (type != QE_REPORT_CERTIFICATION_DATA) {
            throw new EvidenceParseException("v4 signature data", offset + 128,
                    "certification data type " + type + " is not QE report certification data (6)");
        }
        int outerSize = checkedLength(r, r.u32(offset + 130, "certification data size"), offset + 134, end,
                "QE report certification data");
        return readQePart(r, offset + 134, offset + 134 + outerSize, sig, key);
    }

    private static QuoteSignatureData readQePart(QuoteByteReader r, int at, int end, byte[] sig, byte[] key)
            throws EvidenceParseException {
        checkedLength(r, EnclaveReport.SIZE + 64 + 2, at, end, "QE report and signature");
        EnclaveReport qe = EnclaveReport.read(r, at);
        byte[] qeSig = r.bytes(at + EnclaveReport.SIZE, 64, "QE report signature");
        int p = at + EnclaveReport.SIZE + 64;
        int authLen = checkedLength(r, r.u16(p, "QE auth data size"), p + 2, end, "QE auth data");
        byte[] auth = r.bytes(p + 2, authLen, "QE auth data");
        p += 2 + authLen;
        checkedLength(r, 6, p, end, "certification data header");
        int certType = r.u16(p, "certification data type");
        int certLen = checkedLength(r, r.u32(p + 2, "certification data size"), p + 6, end, "certification data");
        byte[] cert = r.bytes(p + 6, certLen, "certification data");
        return new QuoteSignatureData(sig, key, qe, qeSig, auth, certType, cert);
    }

    /** A length read from the quote must fit both the buffer and the enclosing structure. */
    private static int checkedLength(QuoteByteReader r, long len, int at, int end, String field)
            throws EvidenceParseException {
        if (len < 0 || at + len > end) {
            throw new EvidenceParseException("DCAP signature data", at,
                    field + " declares " + len + " bytes, beyond its enclosing structure (ends at " + end + ")");
        }
        return r.lengthWithin(len, at, field);
    }
}
