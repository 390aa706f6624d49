package dev.attestmesh.quote;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The kinds of trusted execution environment whose evidence AttestMesh understands.
 *
 * <p>{@link #SIM} is the simulated TEE for development: its evidence proves nothing and every
 * claim derived from it is marked insecure.
 */
public enum TeeType {
    SGX("sgx"),
    TDX("tdx"),
    SNP("snp"),
    /**
     * An Azure confidential VM on SEV-SNP: the SNP report inside the paravisor's HCL report binds the
     * runtime claims (which carry the vTPM attestation key), and a TPM2 quote by that key binds the
     * caller's report data and the PCRs. The name is Trustee's.
     */
    AZ_SNP_VTPM("az-snp-vtpm"),
    SIM("sim");

    private final String wireName;

    TeeType(String wireName) {
        this.wireName = wireName;
    }

    /** The lower-case name used in the protocol, policies, claims and the CLI. */
    public String wireName() {
        return wireName;
    }

    /** Whether evidence of this type proves anything; false only for the simulator. */
    public boolean isHardware() {
        return this != SIM;
    }

    /**
     * Parses a wire name such as {@code "tdx"}.
     *
     * @throws IllegalArgumentException naming the accepted values when {@code name} is unknown
     */
    public static TeeType fromWireName(String name) {
        String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        for (TeeType t : values()) {
            if (t.wireName.equals(n)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown TEE type '" + name + "'; expected one of "
                + Arrays.stream(values()).map(TeeType::wireName).collect(Collectors.joining(", ")));
    }
}
