package dev.attestmesh.trustee;

import java.util.Locale;
import java.util.Optional;

/**
 * The status tiers of an EAR appraisal (IETF RATS EAR, section "ear.status"), ordered from best to
 * worst. {@link #CONTRAINDICATED} is never accepted by AttestMesh, whatever a policy says.
 */
public enum EarStatus {
    NONE("none", 0),
    AFFIRMING("affirming", 2),
    WARNING("warning", 32),
    CONTRAINDICATED("contraindicated", 96);

    private final String wireName;
    private final int tier;

    EarStatus(String wireName, int tier) {
        this.wireName = wireName;
        this.tier = tier;
    }

    /** The JSON spelling ({@code "affirming"}). */
    public String wireName() {
        return wireName;
    }

    /** The integer the EAR CBOR form uses for this tier; AttestMesh stores it as the claim {@code ear.status}. */
    public int tier() {
        return tier;
    }

    /** The status spelled {@code name} exactly (lower case), if it is one. */
    public static Optional<EarStatus> fromWireName(String name) {
        for (EarStatus s : values()) {
            if (s.wireName.equals(name)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    /** The status stored as {@code tier}, if it is one of the four tiers. */
    public static Optional<EarStatus> fromTier(long tier) {
        for (EarStatus s : values()) {
            if (s.tier == tier) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    /**
     * The tier a trustworthiness claim value falls in, by the EAR draft's bands: 2..31 affirming, 32..95
     * warning, 96..127 contraindicated; 0 (no claim), 1 and the negative verifier-error values are none.
     */
    public static EarStatus ofClaimValue(int value) {
        if (value >= 96) {
            return CONTRAINDICATED;
        }
        if (value >= 32) {
            return WARNING;
        }
        if (value >= 2) {
            return AFFIRMING;
        }
        return NONE;
    }

    @Override
    public String toString() {
        return wireName.toLowerCase(Locale.ROOT);
    }
}
