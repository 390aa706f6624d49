package dev.attestmesh.quote;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * What to verify and when.
 *
 * @param tee claimed evidence type
 * @param evidence raw evidence bytes (quote, attestation report, or simulator evidence)
 * @param collateral optional caller-supplied collateral (JSON as found in the vectors, or a VCEK
 *     certificate for SNP); when empty the verifier uses its configured collateral source
 * @param at the verification time against which every validity window is judged
 */
public record VerificationRequest(TeeType tee, byte[] evidence, Optional<byte[]> collateral, Instant at) {
    public VerificationRequest {
        Objects.requireNonNull(tee, "tee");
        Objects.requireNonNull(evidence, "evidence");
        Objects.requireNonNull(collateral, "collateral");
        Objects.requireNonNull(at, "at");
    }

    public static VerificationRequest of(TeeType tee, byte[] evidence, Instant at) {
        return new VerificationRequest(tee, evidence, Optional.empty(), at);
    }
}
