package dev.attestmesh.quote;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Evidence whose signatures, certificate chain and collateral have been verified at a given time.
 * It proves who signed the evidence and what it reports; it does not say whether that is acceptable:
 * that is policy appraisal's job.
 *
 * <p>Claim names are lower-case, stable, and documented in {@code docs/policy.md}. {@code
 * measurements} holds byte-string claims as lower-case hex (e.g. {@code mrenclave}, {@code mrtd},
 * {@code rtmr0}, {@code measurement}, {@code host_data}, {@code tee_tcb_svn}); {@code numbers} holds
 * integer claims (e.g. {@code isvsvn}, {@code isvprodid}, {@code pcesvn}, {@code policy}, {@code
 * reported_tcb.snp}).
 *
 * @param tee the evidence type
 * @param tcbStatus platform TCB status
 * @param advisoryIds Intel advisory IDs attached to the matched TCB level, sorted; empty for others
 * @param debug whether the TEE runs with debugging enabled (attacker-readable memory)
 * @param insecure true for simulated evidence, which proves nothing
 * @param reportData the 64 bytes of caller data carried by the evidence
 * @param measurements byte-string claims, name to lower-case hex
 * @param numbers integer claims, name to value
 * @param evidenceSha256 SHA-256 of the evidence bytes as received
 * @param fmspcOrChip FMSPC (Intel) or chip ID (AMD) as hex, when the evidence names one
 * @param platformId the verified identity of the physical platform, in {@link PlatformId}'s text form
 *     ({@code sgx-ppid:<32 hex>}, {@code snp-chip:<128 hex>}, {@code sim:<32 hex>}), when the evidence
 *     carries one; taken only from verified data (the PCK certificate, the signed report). Not secret,
 *     but a per-machine tracking identifier
 * @param reappraisalInputs what the verifier needs to judge the TCB again under newer collateral
 *     ({@link EvidenceVerifier#reappraise}); empty for evidence whose TCB does not depend on fetched
 *     collateral, and for records stored before it existed
 */
public record VerifiedEvidence(
        TeeType tee,
        TcbStatus tcbStatus,
        List<String> advisoryIds,
        boolean debug,
        boolean insecure,
        byte[] reportData,
        Map<String, String> measurements,
        Map<String, Long> numbers,
        byte[] evidenceSha256,
        Optional<String> fmspcOrChip,
        Optional<String> platformId,
        Optional<ReappraisalInputs> reappraisalInputs) {

    public VerifiedEvidence {
        Objects.requireNonNull(reappraisalInputs, "reappraisalInputs");
        Objects.requireNonNull(tee, "tee");
        Objects.requireNonNull(tcbStatus, "tcbStatus");
        advisoryIds = List.copyOf(advisoryIds);
        reportData = reportData.clone();
        measurements = Map.copyOf(measurements);
        numbers = Map.copyOf(numbers);
        evidenceSha256 = evidenceSha256.clone();
        Objects.requireNonNull(fmspcOrChip, "fmspcOrChip");
        Objects.requireNonNull(platformId, "platformId");
        // Normalised through PlatformId so that stored and compared values have one spelling.
        platformId = platformId.map(p -> PlatformId.parse(p).value());
        if (reportData.length != 64) {
            throw new IllegalArgumentException("report data must be 64 bytes, got " + reportData.length);
        }
    }

    /** Evidence without reappraisal inputs (simulated, SNP, stored before they existed). */
    public VerifiedEvidence(TeeType tee, TcbStatus tcbStatus, List<String> advisoryIds, boolean debug, boolean insecure,
            byte[] reportData, Map<String, String> measurements, Map<String, Long> numbers, byte[] evidenceSha256,
            Optional<String> fmspcOrChip, Optional<String> platformId) {
        this(tee, tcbStatus, advisoryIds, debug, insecure, reportData, measurements, numbers, evidenceSha256, fmspcOrChip,
                platformId, Optional.empty());
    }

    /** The same evidence judged anew against newer collateral: only the TCB status and advisories change. */
    public VerifiedEvidence withTcb(TcbStatus status, List<String> advisories) {
        return new VerifiedEvidence(tee, status, advisories, debug, insecure, reportData, measurements, numbers,
                evidenceSha256, fmspcOrChip, platformId, reappraisalInputs);
    }

    /** These claims with other measurements and numbers (e.g. after an event-log replay added some). */
    public VerifiedEvidence withClaims(Map<String, String> newMeasurements, Map<String, Long> newNumbers) {
        return new VerifiedEvidence(tee, tcbStatus, advisoryIds, debug, insecure, reportData, newMeasurements,
                newNumbers, evidenceSha256, fmspcOrChip, platformId, reappraisalInputs);
    }

    /** Equality by content (the byte arrays are compared element by element). */
    @Override
    public boolean equals(Object o) {
        return o instanceof VerifiedEvidence v && tee == v.tee && tcbStatus == v.tcbStatus
                && advisoryIds.equals(v.advisoryIds) && debug == v.debug && insecure == v.insecure
                && Arrays.equals(reportData, v.reportData) && measurements.equals(v.measurements)
                && numbers.equals(v.numbers) && Arrays.equals(evidenceSha256, v.evidenceSha256)
                && fmspcOrChip.equals(v.fmspcOrChip) && platformId.equals(v.platformId)
                && reappraisalInputs.equals(v.reappraisalInputs);
    }

    @Override
    public int hashCode() {
        return Objects.hash(tee, tcbStatus, advisoryIds, debug, insecure, Arrays.hashCode(reportData), measurements,
                numbers, Arrays.hashCode(evidenceSha256), fmspcOrChip,
                platformId, reappraisalInputs);
    }

    @Override
    public byte[] reportData() {
        return reportData.clone();
    }

    @Override
    public byte[] evidenceSha256() {
        return evidenceSha256.clone();
    }

    /** The primary measurement of the TEE (MRENCLAVE, MRTD, SNP measurement, sim measurement). */
    public String primaryMeasurement() {
        return switch (tee) {
            case SGX -> measurements.getOrDefault("mrenclave", "");
            case TDX -> measurements.getOrDefault("mrtd", "");
            case SNP, AZ_SNP_VTPM, SIM -> measurements.getOrDefault("measurement", "");
        };
    }

    public String evidenceSha256Hex() {
        return HexFormat.of().formatHex(evidenceSha256);
    }
}
