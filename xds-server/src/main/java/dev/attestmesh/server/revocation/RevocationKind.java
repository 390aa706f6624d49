package dev.attestmesh.server.revocation;

import dev.attestmesh.input.UntrustedText;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * What a revocation rule matches on. The wire names are used by the admin API, the CLI and the
 * database.
 */
public enum RevocationKind {
    /** One node, by node id. */
    NODE("node"),
    /** Every node whose primary measurement (MRENCLAVE, MRTD, SNP measurement) equals the value. */
    MEASUREMENT("measurement"),
    /** Every node holding the policy, i.e. a node that satisfies it. */
    POLICY("policy"),
    /** Every node whose evidence had this TCB status. */
    TCB_STATUS("tcb-status"),
    /** Every node whose evidence listed this advisory ID. */
    ADVISORY("advisory"),
    /** Every node whose identity was granted by this registration (by registration ID). */
    REGISTRATION("registration"),
    /**
     * Every node whose verified evidence names this platform (SGX/TDX PPID, SNP chip ID, simulator
     * id; {@code dev.attestmesh.quote.PlatformId} form, e.g. {@code snp-chip:<128 hex>}): what a TEE
     * cannot change by re-attesting under another node id.
     */
    PLATFORM("platform");

    private final String wireName;

    RevocationKind(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }

    /**
     * @throws IllegalArgumentException naming the accepted kinds when {@code name} is none of them
     */
    public static RevocationKind fromWireName(String name) {
        for (RevocationKind k : values()) {
            if (k.wireName.equals(name.toLowerCase(Locale.ROOT)) || k.name().equals(name)) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown revocation kind '" + UntrustedText.forLog(name, 32) + "'; use one of "
                + Arrays.stream(values()).map(RevocationKind::wireName).collect(Collectors.joining(", ")));
    }
}
