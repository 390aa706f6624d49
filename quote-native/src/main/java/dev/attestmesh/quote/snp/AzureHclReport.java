package dev.attestmesh.quote.snp;

import dev.attestmesh.quote.EvidenceParseException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A parsed, <b>untrusted</b> Azure confidential-VM HCL report: a 32-byte header starting with
 * "HCLA", the 1184-byte SNP report at offset 0x20, then the IGVM request data whose variable part
 * (the HCL runtime claims JSON) is bound by the SNP report's REPORT_DATA (hash of it, zero-padded).
 *
 * @param snpReport the embedded SNP report
 * @param userDataHashType 1 = SHA-256, 2 = SHA-384, 3 = SHA-512 over {@code variableData}
 * @param variableData the runtime claims bound by the report
 */
public record AzureHclReport(SnpReport snpReport, int userDataHashType, byte[] variableData) {
    /** The four magic bytes at offset 0. */
    public static final byte[] MAGIC = {'H', 'C', 'L', 'A'};
    /** Where the SNP report starts in an HCL report. */
    public static final int REPORT_OFFSET = 0x20;
    private static final int REQUEST_OFFSET = REPORT_OFFSET + SnpReport.LENGTH;
    private static final int REQUEST_HEADER = 20;
    private static final String STRUCTURE = "Azure HCL report";

    /** Whether {@code bytes} start with the HCL magic. */
    public static boolean looksLikeHcl(byte[] bytes) {
        return bytes.length >= 4 && Arrays.equals(bytes, 0, 4, MAGIC, 0, 4);
    }

    /** Parses an HCL report; trailing bytes after the declared variable data are ignored. */
    public static AzureHclReport parse(byte[] bytes) throws EvidenceParseException {
        if (!looksLikeHcl(bytes)) {
            throw new EvidenceParseException(STRUCTURE, 0, "bad magic; expected \"HCLA\"");
        }
        if (bytes.length < REQUEST_OFFSET + REQUEST_HEADER) {
            throw new EvidenceParseException(STRUCTURE, bytes.length, "truncated: need at least "
                    + (REQUEST_OFFSET + REQUEST_HEADER) + " bytes");
        }
        SnpReport report = SnpReport.parse(Arrays.copyOfRange(bytes, REPORT_OFFSET, REQUEST_OFFSET));
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int hashType = b.getInt(REQUEST_OFFSET + 12);
        if (hashType < 1 || hashType > 3) {
            throw new EvidenceParseException(STRUCTURE, REQUEST_OFFSET + 12, "unknown user data hash type " + hashType);
        }
        long varSize = Integer.toUnsignedLong(b.getInt(REQUEST_OFFSET + 16));
        long start = REQUEST_OFFSET + REQUEST_HEADER;
        if (start + varSize > bytes.length) {
            throw new EvidenceParseException(STRUCTURE, REQUEST_OFFSET + 16, "variable data size " + varSize
                    + " runs past the end of the " + bytes.length + "-byte report");
        }
        return new AzureHclReport(report, hashType, Arrays.copyOfRange(bytes, (int) start, (int) (start + varSize)));
    }

    /** The JCA digest name of {@link #userDataHashType}. */
    public String digestAlgorithm() {
        return switch (userDataHashType) {
            case 1 -> "SHA-256";
            case 2 -> "SHA-384";
            default -> "SHA-512";
        };
    }

    @Override
    public byte[] variableData() {
        return variableData.clone();
    }
}
