package dev.attestmesh.policy;

import dev.attestmesh.quote.TeeType;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Which reference claims exist for each TEE type, with the byte length of byte-string claims, so
 * that policy documents are checked before they can silently never match. Names follow the claims
 * the quote-native verifiers put into {@code VerifiedEvidence}.
 */
final class ClaimCatalog {
    /** Byte-string claims per TEE: name to length in bytes. */
    static final Map<TeeType, Map<String, Integer>> BYTE_CLAIMS = Map.of(
            TeeType.SGX, Map.of("mrenclave", 32, "mrsigner", 32, "configid", 64, "cpusvn", 16, "attributes", 16),
            TeeType.TDX, Map.ofEntries(Map.entry("mrtd", 48), Map.entry("rtmr0", 48), Map.entry("rtmr1", 48),
                    Map.entry("rtmr2", 48), Map.entry("rtmr3", 48), Map.entry("mrseam", 48),
                    Map.entry("mrsignerseam", 48), Map.entry("mrconfigid", 48), Map.entry("mrowner", 48),
                    Map.entry("mrownerconfig", 48), Map.entry("mrservicetd", 48), Map.entry("tee_tcb_svn", 16),
                    Map.entry("tee_tcb_svn2", 16)),
            TeeType.SNP, Map.of("measurement", 48, "host_data", 32, "id_key_digest", 48, "author_key_digest", 48,
                    "chip_id", 64, "family_id", 16, "image_id", 16, "report_id", 32, "report_id_ma", 32),
            TeeType.SIM, Map.of("measurement", 48));

    /** Claims compared with a mask, per TEE (64-bit values; TDX reports them as 8 little-endian bytes). */
    static final Map<TeeType, Set<String>> MASKED_CLAIMS = Map.of(
            TeeType.SGX, Set.of(),
            TeeType.TDX, Set.of("td_attributes", "xfam"),
            TeeType.SNP, Set.of("policy", "platform_info"),
            TeeType.SIM, Set.of());

    /** Integer claim names: lower case, dot-separated components (e.g. {@code reported_tcb.snp}). */
    static final Pattern NUMBER_CLAIM = Pattern.compile("[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*");

    static final int TEE_TCB_SVN_BYTES = 16;

    private ClaimCatalog() {}

    static Map<String, Integer> byteClaims(TeeType tee) {
        return BYTE_CLAIMS.getOrDefault(tee, Map.of());
    }
}
