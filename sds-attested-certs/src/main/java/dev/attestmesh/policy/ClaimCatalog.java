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
    private static final Map<String, Integer> SNP_BYTE_CLAIMS = Map.of("measurement", 48, "host_data", 32,
            "id_key_digest", 48, "author_key_digest", 48, "chip_id", 64, "family_id", 16, "image_id", 16, "report_id", 32,
            "report_id_ma", 32);

    /** Number of PCRs in a PC-client TPM's bank, each a claim {@code pcr00} .. {@code pcr23}. */
    static final int PCR_COUNT = 24;

    /** Byte-string claims per TEE: name to length in bytes. */
    static final Map<TeeType, Map<String, Integer>> BYTE_CLAIMS = Map.of(
            TeeType.SGX, Map.of("mrenclave", 32, "mrsigner", 32, "configid", 64, "cpusvn", 16, "attributes", 16),
            TeeType.TDX, Map.ofEntries(Map.entry("mrtd", 48), Map.entry("rtmr0", 48), Map.entry("rtmr1", 48),
                    Map.entry("rtmr2", 48), Map.entry("rtmr3", 48), Map.entry("mrseam", 48),
                    Map.entry("mrsignerseam", 48), Map.entry("mrconfigid", 48), Map.entry("mrowner", 48),
                    Map.entry("mrownerconfig", 48), Map.entry("mrservicetd", 48), Map.entry("tee_tcb_svn", 16),
                    Map.entry("tee_tcb_svn2", 16),
                    // From a CCEL event log that replayed to the quote's RTMRs (CcelVerifier).
                    Map.entry("kernel_cmdline_sha384", 48)),
            TeeType.SNP, SNP_BYTE_CLAIMS,
            TeeType.AZ_SNP_VTPM, azureClaims(),
            TeeType.SIM, Map.of("measurement", 48));

    /** Claims compared with a mask, per TEE (64-bit values; TDX reports them as 8 little-endian bytes). */
    static final Map<TeeType, Set<String>> MASKED_CLAIMS = Map.of(
            TeeType.SGX, Set.of(),
            TeeType.TDX, Set.of("td_attributes", "xfam"),
            TeeType.SNP, Set.of("policy", "platform_info"),
            TeeType.AZ_SNP_VTPM, Set.of("policy", "platform_info"),
            TeeType.SIM, Set.of());

    /** TEE types whose evidence carries SEV-SNP TCB claims ({@code reported_tcb.*}, {@code committed_tcb.*}). */
    static final Set<TeeType> SNP_TCB_TEES = Set.of(TeeType.SNP, TeeType.AZ_SNP_VTPM);

    /** SEV-SNP TCB components a {@code minimumTcb} rule may name (fmc exists on Turin only). */
    static final Set<String> SNP_TCB_COMPONENTS = Set.of("bootloader", "tee", "snp", "microcode", "fmc");

    /** Integer claim names: lower case, dot-separated components (e.g. {@code reported_tcb.snp}). */
    static final Pattern NUMBER_CLAIM = Pattern.compile("[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*");

    static final int TEE_TCB_SVN_BYTES = 16;

    private ClaimCatalog() {}

    /** The SNP report's claims, the SHA-256 PCRs and the SHA-256 of the vTPM attestation key. */
    private static Map<String, Integer> azureClaims() {
        Map<String, Integer> m = new java.util.HashMap<>(SNP_BYTE_CLAIMS);
        for (int i = 0; i < PCR_COUNT; i++) {
            m.put(pcrClaim(i), 32);
        }
        m.put("tpm_ak_sha256", 32);
        return Map.copyOf(m);
    }

    /** The claim name of PCR {@code index}: {@code pcr07}. */
    static String pcrClaim(int index) {
        return String.format(java.util.Locale.ROOT, "pcr%02d", index);
    }

    static Map<String, Integer> byteClaims(TeeType tee) {
        return BYTE_CLAIMS.getOrDefault(tee, Map.of());
    }
}
