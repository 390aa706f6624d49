package dev.attestmesh.quote.intel;

import dev.attestmesh.quote.EvidenceParseException;

/**
 * The 48-byte DCAP quote header shared by SGX quote v3 and TDX quote v4/v5. Untrusted until the
 * quote signature has been verified.
 *
 * @param version quote version (3, 4 or 5)
 * @param attestationKeyType 2 = ECDSA-256 with P-256
 * @param teeType 0 = SGX, 0x81 = TDX (zero in v3, where the field is reserved)
 * @param qeSvn QE security version at quote time
 * @param pceSvn PCE security version at quote time
 * @param qeVendorId 16 bytes; Intel's QE is 939a7233f79c4ca9940a0db3957f0607
 * @param userData 20 bytes of QE-defined data
 */
public record QuoteHeader(int version, int attestationKeyType, long teeType, int qeSvn, int pceSvn,
        byte[] qeVendorId, byte[] userData) {

    public static final int SIZE = 48;
    public static final int ECDSA_P256 = 2;
    public static final long TEE_TYPE_SGX = 0;
    public static final long TEE_TYPE_TDX = 0x81;

    public QuoteHeader {
        qeVendorId = qeVendorId.clone();
        userData = userData.clone();
    }

    @Override
    public byte[] qeVendorId() {
        return qeVendorId.clone();
    }

    @Override
    public byte[] userData() {
        return userData.clone();
    }

    /** Reads the header at offset 0 and checks the attestation key type is ECDSA P-256. */
    public static QuoteHeader read(QuoteByteReader r) throws EvidenceParseException {
        r.require(0, SIZE, "quote header");
        int version = r.u16(0, "version");
        int keyType = r.u16(2, "attestation key type");
        if (keyType != ECDSA_P256) {
            throw new EvidenceParseException("DCAP quote header", 2,
                    "attestation key type " + keyType + " is not ECDSA-256-with-P-256 (2), the only type DCAP defines");
        }
        return new QuoteHeader(version, keyType, r.u32(4, "TEE type"), r.u16(8, "QE SVN"), r.u16(10, "PCE SVN"),
                r.bytes(12, 16, "QE vendor ID"), r.bytes(28, 20, "user data"));
    }
}
