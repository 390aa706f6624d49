package dev.attestmesh.issuance;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * One entry of the hash-chained issuance log: an issued certificate, or (when {@link #release} is present) the
 * release of one version of an operator secret to a node (docs/issuance-log.md, docs/secrets.md). A release entry
 * never holds the secret's value: its {@code serialHex} is the serial of the node certificate the release was made
 * under, and its evidence digest and policy IDs are those of the node's current attestation.
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
 * @param release the secret version released, for a release entry; empty for a certificate entry
 */
public record IssuanceLogEntry(long sequence, String serialHex, String nodeId, String spiffeId,
        String evidenceSha256Hex, List<String> policyIds, Instant issuedAt, String previousHashHex, String hashHex,
        java.util.Optional<SecretRelease> release) {
    /** The secret version a release entry records. */
    public record SecretRelease(String secretName, long version) {
        public SecretRelease {
            Objects.requireNonNull(secretName, "secretName");
            if (secretName.isEmpty() || version < 1) {
                throw new IllegalArgumentException("a release names a secret and a version >= 1");
            }
        }
    }

    /** A certificate entry (the form every entry had before secret releases existed). */
    public IssuanceLogEntry(long sequence, String serialHex, String nodeId, String spiffeId,
            String evidenceSha256Hex, List<String> policyIds, Instant issuedAt, String previousHashHex, String hashHex) {
        this(sequence, serialHex, nodeId, spiffeId, evidenceSha256Hex, policyIds, issuedAt, previousHashHex, hashHex,
                java.util.Optional.empty());
    }

    public IssuanceLogEntry {
        Objects.requireNonNull(release, "release");
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
