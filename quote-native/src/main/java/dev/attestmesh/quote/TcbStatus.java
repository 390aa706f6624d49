package dev.attestmesh.quote;

/**
 * TCB status of a platform, as Intel's TCB Info defines it. AMD SEV-SNP evidence is {@link
 * #UP_TO_DATE} or {@link #OUT_OF_DATE} (its reported and committed TCB against the configured current
 * TCB; docs/evidence.md); the simulator is always {@link #UP_TO_DATE}.
 */
public enum TcbStatus {
    UP_TO_DATE("UpToDate"),
    SW_HARDENING_NEEDED("SWHardeningNeeded"),
    CONFIGURATION_NEEDED("ConfigurationNeeded"),
    CONFIGURATION_AND_SW_HARDENING_NEEDED("ConfigurationAndSWHardeningNeeded"),
    OUT_OF_DATE("OutOfDate"),
    OUT_OF_DATE_CONFIGURATION_NEEDED("OutOfDateConfigurationNeeded"),
    REVOKED("Revoked");

    private final String intelName;

    TcbStatus(String intelName) {
        this.intelName = intelName;
    }

    /** The spelling used by Intel's TCB Info JSON and by AttestMesh policies and claims. */
    public String intelName() {
        return intelName;
    }

    /** Parses Intel's spelling (case-insensitive); {@link IllegalArgumentException} if unknown. */
    public static TcbStatus fromIntelName(String name) {
        for (TcbStatus s : values()) {
            if (s.intelName.equalsIgnoreCase(name) || s.name().equalsIgnoreCase(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown TCB status '" + name + "'");
    }

    @Override
    public String toString() {
        return intelName;
    }
}
