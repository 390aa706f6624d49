package dev.attestmesh.quote.snp;

import dev.attestmesh.quote.EvidenceParseException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Optional;

/**
 * A parsed, <b>untrusted</b> SEV-SNP ATTESTATION_REPORT (1184 bytes, versions 2 to 5). Nothing here is
 * verified: {@link SnpReportVerifier} checks the signature and the certificate chain. Byte layout:
 * AMD SEV-SNP Firmware ABI specification (pub. 56860), ATTESTATION_REPORT; all integers little-endian.
 *
 * <p>TCB values are kept raw because their byte layout depends on the product (Turin differs from
 * Milan and Genoa), which a v2 report does not name; decode them with {@link SnpTcb#decode}.
 *
 * @param version report format version (2, 3, 4 or 5)
 * @param guestSvn guest security version number
 * @param policy guest policy (bit 19 = debug allowed)
 * @param vmpl VM privilege level that requested the report
 * @param signatureAlgo 1 = ECDSA P-384 with SHA-384
 * @param currentTcbRaw CURRENT_TCB
 * @param platformInfo PLATFORM_INFO bits
 * @param authorKeyEnabled AUTHOR_KEY_EN
 * @param maskChipKey MASK_CHIP_KEY (chip ID zeroed)
 * @param signingKey which key signed the report
 * @param reportedTcbRaw REPORTED_TCB: the TCB the VCEK was derived for
 * @param cpuid CPUID family/model/stepping (version 3 and later)
 * @param committedTcbRaw COMMITTED_TCB
 * @param currentFirmware firmware version major.minor.build running now
 * @param committedFirmware committed firmware version
 * @param launchTcbRaw LAUNCH_TCB
 * @param launchMitVector LAUNCH_MIT_VECTOR (version 5; 0 otherwise)
 * @param currentMitVector CURRENT_MIT_VECTOR (version 5; 0 otherwise)
 */
public record SnpReport(
        int version,
        long guestSvn,
        long policy,
        byte[] familyId,
        byte[] imageId,
        long vmpl,
        long signatureAlgo,
        long currentTcbRaw,
        long platformInfo,
        boolean authorKeyEnabled,
        boolean maskChipKey,
        SnpSigningKey signingKey,
        byte[] reportData,
        byte[] measurement,
        byte[] hostData,
        byte[] idKeyDigest,
        byte[] authorKeyDigest,
        byte[] reportId,
        byte[] reportIdMa,
        long reportedTcbRaw,
        Optional<Cpuid> cpuid,
        byte[] chipId,
        long committedTcbRaw,
        FirmwareVersion currentFirmware,
        FirmwareVersion committedFirmware,
        long launchTcbRaw,
        long launchMitVector,
        long currentMitVector,
        byte[] signedBytes,
        byte[] signatureR,
        byte[] signatureS) {

    /** Size of an ATTESTATION_REPORT. */
    public static final int LENGTH = 0x4A0;
    /** End of the signed part: the signature covers bytes [0, 0x2A0). */
    public static final int SIGNED_LENGTH = 0x2A0;
    /** Policy bit 19: the hypervisor may debug (read and write) guest memory. */
    public static final long POLICY_DEBUG = 1L << 19;
    private static final String STRUCTURE = "SEV-SNP attestation report";
    private static final int SIGNATURE_FIELD = 72;
    private static final int P384_SCALAR = 48;

    /**
     * CPUID identification of the chip that produced a version 3+ report.
     *
     * @param family combined CPUID family (0x19 Milan/Genoa, 0x1A Turin)
     * @param model combined CPUID model
     * @param stepping CPUID stepping
     */
    public record Cpuid(int family, int model, int stepping) {
        /** The product these CPUID values identify, if known. */
        public Optional<SnpProduct> product() {
            return SnpProduct.fromCpuid(family, model);
        }
    }

    /** An SNP firmware version as carried in the report. */
    public record FirmwareVersion(int major, int minor, int build) {
        @Override
        public String toString() {
            return major + "." + minor + "." + build;
        }
    }

    /**
     * Parses exactly one 1184-byte report.
     *
     * @throws EvidenceParseException for a wrong length, an unknown version, a reserved signing key
     *     value, non-zero reserved bytes, or a signature component wider than 48 bytes
     */
    public static SnpReport parse(byte[] bytes) throws EvidenceParseException {
        if (bytes.length != LENGTH) {
            throw new EvidenceParseException(STRUCTURE, -1, "expected exactly " + LENGTH + " bytes, got "
                    + bytes.length + "; pass the raw report (an Azure HCL report starts with \"HCLA\")");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int version = b.getInt(0x000);
        if (version < 2 || version > 5) {
            throw new EvidenceParseException(STRUCTURE, 0, "unsupported report version " + Integer.toUnsignedString(version)
                    + "; versions 2 to 5 are understood");
        }
        int keyField = b.getInt(0x048);
        SnpSigningKey signingKey;
        try {
            signingKey = SnpSigningKey.fromField((keyField >>> 2) & 0x7);
        } catch (IllegalArgumentException e) {
            throw new EvidenceParseException(STRUCTURE, 0x048, e.getMessage());
        }
        requireZero(bytes, 0x208, SIGNED_LENGTH, "reserved area");
        requireZero(bytes, 0x2A0 + P384_SCALAR, 0x2A0 + SIGNATURE_FIELD, "signature R above 48 bytes");
        requireZero(bytes, 0x2E8 + P384_SCALAR, 0x2E8 + SIGNATURE_FIELD, "signature S above 48 bytes");
        Optional<Cpuid> cpuid = version >= 3
                ? Optional.of(new Cpuid(u8(bytes, 0x188), u8(bytes, 0x189), u8(bytes, 0x18A)))
                : Optional.empty();
        boolean v5 = version >= 5;
        return new SnpReport(
                version,
                Integer.toUnsignedLong(b.getInt(0x004)),
                b.getLong(0x008),
                slice(bytes, 0x010, 16),
                slice(bytes, 0x020, 16),
                Integer.toUnsignedLong(b.getInt(0x030)),
                Integer.toUnsignedLong(b.getInt(0x034)),
                b.getLong(0x038),
                b.getLong(0x040),
                (keyField & 1) != 0,
                (keyField & 2) != 0,
                signingKey,
                slice(bytes, 0x050, 64),
                slice(bytes, 0x090, 48),
                slice(bytes, 0x0C0, 32),
                slice(bytes, 0x0E0, 48),
                slice(bytes, 0x110, 48),
                slice(bytes, 0x140, 32),
                slice(bytes, 0x160, 32),
                b.getLong(0x180),
                cpuid,
                slice(bytes, 0x1A0, 64),
                b.getLong(0x1E0),
                new FirmwareVersion(u8(bytes, 0x1EA), u8(bytes, 0x1E9), u8(bytes, 0x1E8)),
                new FirmwareVersion(u8(bytes, 0x1EE), u8(bytes, 0x1ED), u8(bytes, 0x1EC)),
                b.getLong(0x1F0),
                v5 ? b.getLong(0x1F8) : 0,
                v5 ? b.getLong(0x200) : 0,
                slice(bytes, 0, SIGNED_LENGTH),
                reverse(bytes, 0x2A0, P384_SCALAR),
                reverse(bytes, 0x2E8, P384_SCALAR));
    }

    /** Whether the guest policy allows debugging (policy bit 19). */
    public boolean debug() {
        return (policy & POLICY_DEBUG) != 0;
    }

    /** The product named by CPUID in version 3+ reports; empty for version 2 or unknown CPUID values. */
    public Optional<SnpProduct> product() {
        return cpuid.flatMap(Cpuid::product);
    }

    /** REPORTED_TCB decoded with {@code product}'s layout. */
    public SnpTcb reportedTcb(SnpProduct product) {
        return SnpTcb.decode(reportedTcbRaw, product);
    }

    /** Whether CHIP_ID is all zero (MASK_CHIP_ID set, or a VLEK-signed report). */
    public boolean chipIdMasked() {
        for (byte x : chipId) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    /** The signature as 96 bytes r||s, big-endian, for {@code SHA384withECDSAinP1363Format}. */
    public byte[] signatureP1363() {
        byte[] rs = new byte[2 * P384_SCALAR];
        System.arraycopy(signatureR, 0, rs, 0, P384_SCALAR);
        System.arraycopy(signatureS, 0, rs, P384_SCALAR, P384_SCALAR);
        return rs;
    }

    @Override public byte[] familyId() { return familyId.clone(); }
    @Override public byte[] imageId() { return imageId.clone(); }
    @Override public byte[] reportData() { return reportData.clone(); }
    @Override public byte[] measurement() { return measurement.clone(); }
    @Override public byte[] hostData() { return hostData.clone(); }
    @Override public byte[] idKeyDigest() { return idKeyDigest.clone(); }
    @Override public byte[] authorKeyDigest() { return authorKeyDigest.clone(); }
    @Override public byte[] reportId() { return reportId.clone(); }
    @Override public byte[] reportIdMa() { return reportIdMa.clone(); }
    @Override public byte[] chipId() { return chipId.clone(); }
    @Override public byte[] signedBytes() { return signedBytes.clone(); }
    @Override public byte[] signatureR() { return signatureR.clone(); }
    @Override public byte[] signatureS() { return signatureS.clone(); }

    private static int u8(byte[] bytes, int offset) {
        return Byte.toUnsignedInt(bytes[offset]);
    }

    private static byte[] slice(byte[] bytes, int offset, int length) {
        return Arrays.copyOfRange(bytes, offset, offset + length);
    }

    private static byte[] reverse(byte[] bytes, int offset, int length) {
        byte[] out = new byte[length];
        for (int i = 0; i < length; i++) {
            out[i] = bytes[offset + length - 1 - i];
        }
        return out;
    }

    private static void requireZero(byte[] bytes, int from, int to, String what) throws EvidenceParseException {
        for (int i = from; i < to; i++) {
            if (bytes[i] != 0) {
                throw new EvidenceParseException(STRUCTURE, i, what + " must be zero");
            }
        }
    }
}
