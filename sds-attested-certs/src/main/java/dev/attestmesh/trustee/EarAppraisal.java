package dev.attestmesh.trustee;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * An attestation service's appraisal after its token verified: signed by the configured key, in date,
 * of a known profile and structure, not contraindicated, and binding this attestation's report data.
 *
 * @param status the appraisal status of the (single) submodule
 * @param trustVector trustworthiness claims present in the token, name ({@code executables}) to value
 * @param appraisalPolicyId the AS policy that produced the appraisal, when the token names it
 * @param measurements TEE byte claims mapped from the annotated evidence, AttestMesh name to lower-case hex
 * @param numbers TEE integer claims mapped from the annotated evidence
 * @param debug the TEE's debug flag when the annotated evidence states it
 * @param issuedAt the token's {@code iat}
 * @param verifierBuild the token's {@code ear.verifier-id} build
 */
public record EarAppraisal(EarStatus status, Map<String, Integer> trustVector, Optional<String> appraisalPolicyId,
        Map<String, String> measurements, Map<String, Long> numbers, Optional<Boolean> debug, Instant issuedAt,
        String verifierBuild) {
    public EarAppraisal {
        Objects.requireNonNull(status, "status");
        trustVector = Map.copyOf(trustVector);
        Objects.requireNonNull(appraisalPolicyId, "appraisalPolicyId");
        measurements = Map.copyOf(measurements);
        numbers = Map.copyOf(numbers);
        Objects.requireNonNull(debug, "debug");
        Objects.requireNonNull(issuedAt, "issuedAt");
        Objects.requireNonNull(verifierBuild, "verifierBuild");
    }
}
