package dev.attestmesh.quote;

import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What verification took from the evidence to judge its TCB against collateral, kept with the verified
 * claims so the TCB can be judged again when newer collateral arrives (a TCB recovery, a new CRL)
 * without asking the node for new evidence. Every field was verified when the evidence was: for Intel
 * DCAP the PCK certificate chain (chained to the pinned root) and the QE report (signed by the PCK key),
 * for TDX also the module inputs of the signed TD report; for SEV-SNP the signed report and the
 * certificate chain it was verified with (signature and chain are checked again when read back).
 *
 * <p>These are not policy claims: they are neither appraised nor put into certificates. The verifier
 * that wrote them ({@link #scheme()}) is the only one that reads them ({@link EvidenceVerifier#reappraise}).
 *
 * @param scheme which verifier's inputs these are, e.g. {@value #INTEL_DCAP}
 * @param fields field name to lower-case hex
 */
public record ReappraisalInputs(String scheme, Map<String, String> fields) {
    /** The scheme of {@code DcapQuoteVerifier}'s inputs. */
    public static final String INTEL_DCAP = "intel-dcap";
    /** The scheme of {@code SnpReportVerifier}'s inputs: the signed report and its VCEK/VLEK, ASK/ASVK, ARK. */
    public static final String AMD_SNP = "amd-snp";
    /** Bound on the stored size (hex characters over all fields): a PCK chain is about 8 KiB of hex. */
    public static final int MAX_HEX_CHARS = 64 * 1024;

    public ReappraisalInputs {
        Objects.requireNonNull(scheme, "scheme");
        fields = Map.copyOf(new TreeMap<>(fields));
        long total = 0;
        for (Map.Entry<String, String> e : fields.entrySet()) {
            if (!e.getValue().matches("[0-9a-f]*")) {
                throw new IllegalArgumentException("reappraisal input '" + e.getKey() + "' is not lower-case hex");
            }
            total += e.getValue().length();
        }
        if (total > MAX_HEX_CHARS) {
            throw new IllegalArgumentException("reappraisal inputs of " + total + " hex characters exceed the bound of "
                    + MAX_HEX_CHARS);
        }
    }

    /** The field's bytes, when present. */
    public Optional<byte[]> bytes(String field) {
        return Optional.ofNullable(fields.get(field)).map(HexFormat.of()::parseHex);
    }
}
