package dev.attestmesh.admission;

import dev.attestmesh.quote.TeeType;
import java.util.Objects;
import java.util.Optional;

/**
 * One Attest call, after the transport decoded it. Nothing here is trusted.
 *
 * @param requestedSpiffeId the identity the caller asks for, if any
 * @param peerCertificateSha256Hex SHA-256 (hex) of the client certificate the call was made with over
 *     mTLS, if any (a renewal)
 */
public record AdmissionRequest(String nodeId, TeeType tee, byte[] evidence, byte[] csr, byte[] nonce,
        Optional<byte[]> collateral, Optional<String> requestedSpiffeId, Optional<String> peerCertificateSha256Hex) {
    public AdmissionRequest {
        Objects.requireNonNull(nodeId, "nodeId");
        Objects.requireNonNull(tee, "tee");
        Objects.requireNonNull(evidence, "evidence");
        Objects.requireNonNull(csr, "csr");
        Objects.requireNonNull(nonce, "nonce");
        Objects.requireNonNull(collateral, "collateral");
        Objects.requireNonNull(requestedSpiffeId, "requestedSpiffeId");
        Objects.requireNonNull(peerCertificateSha256Hex, "peerCertificateSha256Hex");
    }
}
