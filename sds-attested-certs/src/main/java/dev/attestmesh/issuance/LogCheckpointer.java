package dev.attestmesh.issuance;

import dev.attestmesh.ca.CheckpointKey;
import dev.attestmesh.ca.MeshCa;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Signs checkpoints of the issuance log with the mesh CA's checkpoint key and keeps them.
 *
 * <p>It never signs a checkpoint inconsistent with one it signed before (c2sp.org/tlog-checkpoint asks the
 * same of logs): before signing it verifies the latest stored checkpoint's signature with its own key,
 * then that the log still holds that checkpoint's head and that every entry appended since hashes and
 * links correctly. A truncated or rewritten log, a broken chain or an altered stored checkpoint makes it
 * refuse ({@link CheckpointRefusedException}), which scheduled runs log as an error each time: the
 * control plane reports the damage instead of blessing it. With no stored checkpoint, the whole chain
 * is verified first.
 *
 * <p>Thread-safe; the store serializes checkpointing across processes sharing it.
 */
public final class LogCheckpointer {
    private static final Logger LOG = LoggerFactory.getLogger(LogCheckpointer.class);

    private final IssuanceLog log;
    private final CheckpointStore store;
    private final Supplier<MeshCa> ca;
    private final Clock clock;

    /** @param ca the current mesh CA (read at each checkpoint, so a rotated intermediate changes nothing here) */
    public LogCheckpointer(IssuanceLog log, CheckpointStore store, Supplier<MeshCa> ca, Clock clock) {
        this.log = Objects.requireNonNull(log);
        this.store = Objects.requireNonNull(store);
        this.ca = Objects.requireNonNull(ca);
        this.clock = Objects.requireNonNull(clock);
    }

    /**
     * Signs and stores a checkpoint of the log as it is now, even if the log has not grown since the last
     * one (a fresh timestamp is what an on-demand request asks for).
     *
     * @throws CheckpointRefusedException when the log is not consistent with the latest checkpoint
     */
    public StoredCheckpoint checkpointNow() {
        return store.appendNext(latest -> Optional.of(next(latest, false).orElseThrow())).orElseThrow();
    }

    /**
     * Signs and stores a checkpoint when the log has grown since the latest one (or there is none and the
     * log is not empty); still checks consistency when it has not grown.
     *
     * @return the new checkpoint, or empty when the log did not grow
     * @throws CheckpointRefusedException when the log is not consistent with the latest checkpoint
     */
    public Optional<StoredCheckpoint> checkpointIfGrown() {
        return store.appendNext(latest -> next(latest, true));
    }

    /** The latest stored checkpoint (as stored: verify its note before relying on it). */
    public Optional<StoredCheckpoint> latest() {
        return store.latest();
    }

    /** Stored checkpoints from id {@code fromId}, at most {@code limit}. */
    public List<StoredCheckpoint> list(long fromId, int limit) {
        return store.list(fromId, limit);
    }

    /** The log's origin, which is also the signing key's name: {@code <trust-domain>/attestmesh/issuance-log}. */
    public String origin() {
        return Checkpoint.originFor(ca.get().trustDomain());
    }

    /** The key that signs checkpoints now. */
    public CheckpointKey signingKey() {
        return key(ca.get());
    }

    /** The mesh root CA that certifies the signing key. */
    public java.security.cert.X509Certificate root() {
        return ca.get().root();
    }

    private Optional<SignedCheckpoint> next(Optional<StoredCheckpoint> latest, boolean onlyIfGrown) {
        MeshCa meshCa = ca.get();
        CheckpointKey key = key(meshCa);
        Optional<IssuanceLogEntry> head = log.head();
        long size = head.map(IssuanceLogEntry::sequence).orElse(0L);
        String headHash = head.map(IssuanceLogEntry::hashHex).orElse(IssuanceLog.GENESIS_HASH);
        if (latest.isPresent()) {
            Checkpoint previous;
            try {
                previous = CheckpointVerifier.forKey(key, meshCa.root()).verify(latest.get().note());
            } catch (CheckpointException e) {
                throw refuse("stored checkpoint " + latest.get().id() + " does not verify with the CA's checkpoint key ("
                        + e.getMessage() + "): the checkpoint table was altered");
            }
            LogAudit audit = IssuanceLogVerifier.verifyExtension(log::list, previous, size);
            if (!audit.consistent()) {
                throw refuse("the issuance log is not consistent with checkpoint " + latest.get().id() + ": "
                        + audit.message());
            }
            if (onlyIfGrown && size == previous.size()) {
                return Optional.empty();
            }
        } else {
            if (onlyIfGrown && size == 0) {
                return Optional.empty();
            }
            LogVerification v = IssuanceLogVerifier.verifyChain((from, limit) ->
                    from > size ? List.of() : log.list(from, (int) Math.min(limit, size - from + 1)));
            if (!v.intact()) {
                throw refuse("the issuance log's chain is broken at entry " + v.firstBrokenSequence().orElse(0L) + ": "
                        + v.problem().orElse("?"));
            }
            if (v.entriesChecked() != size) {
                throw refuse("the issuance log's head is entry " + size + " but only " + v.entriesChecked()
                        + " entries could be read");
            }
        }
        Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
        Checkpoint c = new Checkpoint(Checkpoint.originFor(meshCa.trustDomain()), size, headHash, now,
                CheckpointVerifier.sha256Hex(meshCa.root()));
        SignedCheckpoint signed = CheckpointNotes.sign(c, key);
        LOG.info("signed issuance log checkpoint: size {}, head {}", size, headHash);
        return Optional.of(signed);
    }

    private static CheckpointKey key(MeshCa meshCa) {
        return meshCa.checkpointKey().orElseThrow(() -> new IllegalStateException(
                "the mesh CA has no checkpoint key; the control plane adds one at start"));
    }

    private static CheckpointRefusedException refuse(String message) {
        LOG.error("refusing to sign an issuance log checkpoint: {}", message);
        return new CheckpointRefusedException(message);
    }
}
