package dev.attestmesh.issuance;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * One issued certificate in the hash-chained issuance log.
 *
 * @param sequence position in the log, starting at 1
 * @param serialHex certificate serial, lower-case hex
 * @param nodeId attested node
 * @param spiffeId the certificate's URI SAN
 * @param evidenceSha256Hex digest of the evidence the certificate was issued on
 * @param policyIds satisfied policy IDs written into the certificate
 * @param issuedAt issuance time
 * @param previousHashHex {@link #hashHex} of entry {@code sequence - 1}; 64 zeros for the first entry
 * @param hashHex SHA-256 over this entry's canonical encoding (see {@link IssuanceLog})
 */
public record IssuanceLogEntry(long sequence, String serialHex, String nodeId, String spiffeId,
        String evidenceSha256Hex, List<String> policyIds, Instant issuedAt, String previousHashHex, String hashHex) {
    public IssuanceLogEntry {
        Objects.requireNonNull(serialHex, "serialHex");
        Objects.requireNonNull(nodeId, "nodeId");
        Objects.requireNonNull(spiffeId, "spiffeId");
        Objects.requireNonNull(evidenceSha256Hex, "evidenceSha256Hex");
        policyIds = List.copyOf(policyIds);
        Objects.requireNonNull(issuedAt, "issuedAt");
        Objects.requireNonNull(previousHashHex, "previousHashHex");
        Objects.requireNonNull(hashHex, "hashHex");
    }
}
