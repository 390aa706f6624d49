package dev.attestmesh.quote.snp;

/**
 * Which key signed an SEV-SNP report, from bits 4:2 of the report's key field. The VCEK is derived
 * per chip and TCB and served by AMD KDS; the VLEK is provisioned by a cloud provider and chains
 * to AMD's ASVK instead of the ASK.
 */
public enum SnpSigningKey {
    VCEK,
    VLEK,
    /** The report is unsigned (key field 7); such a report can never verify. */
    NONE;

    /** Decodes the 3-bit SIGNING_KEY field; values other than 0, 1 and 7 are reserved. */
    static SnpSigningKey fromField(int value) {
        return switch (value) {
            case 0 -> VCEK;
            case 1 -> VLEK;
            case 7 -> NONE;
            default -> throw new IllegalArgumentException("reserved signing key value " + value);
        };
    }
}
