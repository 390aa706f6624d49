package dev.attestmesh.agent;

import dev.attestmesh.quote.TeeType;
import java.util.Objects;
import java.util.Optional;

/**
 * Evidence ready for an Attest request, in the control plane's native encoding for its TEE type.
 *
 * @param tee the type, as read from the evidence itself (never from what an evidence provider says it is)
 * @param evidence the bytes for {@code AttestRequest.evidence}
 * @param collateral what the evidence came with for {@code AttestRequest.collateral} (an SNP VCEK, DER)
 */
public record CollectedEvidence(TeeType tee, byte[] evidence, Optional<byte[]> collateral) {
    public CollectedEvidence {
        Objects.requireNonNull(tee, "tee");
        evidence = evidence.clone();
        collateral = collateral.map(byte[]::clone);
    }

    @Override
    public byte[] evidence() {
        return evidence.clone();
    }

    @Override
    public Optional<byte[]> collateral() {
        return collateral.map(byte[]::clone);
    }
}
