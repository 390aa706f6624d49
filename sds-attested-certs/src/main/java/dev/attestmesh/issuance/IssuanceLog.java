package dev.attestmesh.issuance;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Append-only, hash-chained log of issued certificates. Each entry's hash is
 * SHA-256 over the canonical encoding
 *
 * <pre>
 * "attestmesh-issuance-log-v1" || u64 sequence || str serialHex || str nodeId || str spiffeId
 *   || str evidenceSha256Hex || u32 count || str policyId... || i64 issuedAt seconds
 *   || u32 issuedAt nanos || str previousHashHex
 * </pre>
 *
 * where {@code str} is a u32 big-endian byte length followed by UTF-8 bytes, so no two different
 * entries share an encoding. A secret release entry ({@link IssuanceLogEntry#release()}) is hashed over
 *
 * <pre>
 * "attestmesh-issuance-log-v1-release" || (the same fields as above) || str secretName || u64 version
 * </pre>
 *
 * A distinct domain string, so a release entry can never be read as a certificate entry or the reverse, and
 * certificate entries keep the encoding they always had (logs written before releases existed verify as before). The first entry links to 64 zeros. Altering, removing or reordering
 * any stored entry breaks the chain at that entry, which {@link #verify()} reports.
 */
public final class IssuanceLog {
    /** The previous-hash value of the first entry. */
    public static final String GENESIS_HASH = "0".repeat(64);
    private static final byte[] DOMAIN = "attestmesh-issuance-log-v1".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] RELEASE_DOMAIN =
            "attestmesh-issuance-log-v1-release".getBytes(StandardCharsets.US_ASCII);

    private final IssuanceLogStore store;

    public IssuanceLog(IssuanceLogStore store) {
        this.store = store;
    }

    /**
     * Appends an entry linked to the current last entry and returns it. The store reads the last entry
     * and persists the new one atomically ({@link IssuanceLogStore#appendNext}), so the chain stays
     * gap-free even when several processes share the store.
     */
    public synchronized IssuanceLogEntry append(String serialHex, String nodeId, String spiffeId,
            String evidenceSha256Hex, List<String> policyIds, Instant issuedAt) {
        return store.appendNext(last -> {
            long seq = last.map(e -> e.sequence() + 1).orElse(1L);
            String prev = last.map(IssuanceLogEntry::hashHex).orElse(GENESIS_HASH);
            String hash = hash(seq, serialHex, nodeId, spiffeId, evidenceSha256Hex, policyIds, issuedAt, prev);
            return new IssuanceLogEntry(seq, serialHex, nodeId, spiffeId, evidenceSha256Hex, policyIds, issuedAt,
                    prev, hash);
        });
    }

    /**
     * Appends the record of releasing version {@code version} of secret {@code secretName} to a node: who
     * ({@code nodeId}, {@code spiffeId}, under certificate {@code certSerialHex}), on which evidence and policies.
     * The value is never passed here, so it can never reach the log.
     */
    public synchronized IssuanceLogEntry appendRelease(String secretName, long version, String certSerialHex,
            String nodeId, String spiffeId, String evidenceSha256Hex, List<String> policyIds, Instant releasedAt) {
        IssuanceLogEntry.SecretRelease release = new IssuanceLogEntry.SecretRelease(secretName, version);
        return store.appendNext(last -> {
            long seq = last.map(e -> e.sequence() + 1).orElse(1L);
            String prev = last.map(IssuanceLogEntry::hashHex).orElse(GENESIS_HASH);
            String hash = hash(seq, certSerialHex, nodeId, spiffeId, evidenceSha256Hex, policyIds, releasedAt, prev,
                    Optional.of(release));
            return new IssuanceLogEntry(seq, certSerialHex, nodeId, spiffeId, evidenceSha256Hex, policyIds, releasedAt,
                    prev, hash, Optional.of(release));
        });
    }

    /** Entries from {@code fromSequence}, at most {@code limit}. */
    public List<IssuanceLogEntry> list(long fromSequence, int limit) {
        return store.list(fromSequence, limit);
    }

    /** The last entry (the head of the chain), if any. */
    public Optional<IssuanceLogEntry> head() {
        return store.last();
    }

    /** Re-computes every hash and link from the first entry; stops at the first broken entry. */
    public LogVerification verify() {
        return IssuanceLogVerifier.verifyChain(store::list);
    }

    /**
     * The hash of an entry with these fields: SHA-256 over the canonical encoding in the class comment,
     * lower-case hex. Public so that verifiers (and tests that simulate an attacker recomputing the chain)
     * use the one definition.
     */
    public static String hash(long seq, String serialHex, String nodeId, String spiffeId, String evidenceSha256Hex,
            List<String> policyIds, Instant issuedAt, String previousHashHex) {
        return hash(seq, serialHex, nodeId, spiffeId, evidenceSha256Hex, policyIds, issuedAt, previousHashHex,
                Optional.empty());
    }

    /** The hash of {@code e} recomputed from its content (a certificate or a release entry). */
    public static String hash(IssuanceLogEntry e) {
        return hash(e.sequence(), e.serialHex(), e.nodeId(), e.spiffeId(), e.evidenceSha256Hex(), e.policyIds(),
                e.issuedAt(), e.previousHashHex(), e.release());
    }

    private static String hash(long seq, String serialHex, String nodeId, String spiffeId, String evidenceSha256Hex,
            List<String> policyIds, Instant issuedAt, String previousHashHex,
            Optional<IssuanceLogEntry.SecretRelease> release) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        out.writeBytes(release.isPresent() ? RELEASE_DOMAIN : DOMAIN);
        out.writeBytes(ByteBuffer.allocate(8).putLong(seq).array());
        str(out, serialHex);
        str(out, nodeId);
        str(out, spiffeId);
        str(out, evidenceSha256Hex);
        out.writeBytes(ByteBuffer.allocate(4).putInt(policyIds.size()).array());
        policyIds.forEach(p -> str(out, p));
        out.writeBytes(ByteBuffer.allocate(12).putLong(issuedAt.getEpochSecond()).putInt(issuedAt.getNano()).array());
        str(out, previousHashHex);
        release.ifPresent(r -> {
            str(out, r.secretName());
            out.writeBytes(ByteBuffer.allocate(8).putLong(r.version()).array());
        });
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(out.toByteArray()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available in this JVM", e);
        }
    }

    private static void str(ByteArrayOutputStream out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeBytes(ByteBuffer.allocate(4).putInt(b.length).array());
        out.writeBytes(b);
    }
}
