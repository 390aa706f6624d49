package dev.attestmesh.server.store;

import dev.attestmesh.issuance.CheckpointException;
import dev.attestmesh.issuance.CheckpointNotes;
import dev.attestmesh.issuance.CheckpointStore;
import dev.attestmesh.issuance.SignedCheckpoint;
import dev.attestmesh.issuance.StoredCheckpoint;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Signed issuance log checkpoints in the relational store (table {@code issuance_log_checkpoints},
 * V7 migration); append-only. Appends hold the {@code issuance_log_checkpoints} store lock, so replicas
 * sharing one database checkpoint one at a time and never store the same growth twice.
 */
public final class JdbcCheckpointStore implements CheckpointStore {
    private final Database db;

    public JdbcCheckpointStore(Database db) {
        this.db = db;
    }

    /**
     * Runs {@code next} while holding the store lock (its reads of the log use their own connections),
     * then inserts what it returned in the same transaction.
     */
    @Override
    public Optional<StoredCheckpoint> appendNext(Function<Optional<StoredCheckpoint>, Optional<SignedCheckpoint>> next) {
        return db.lockInTransaction(Database.LOCK_ISSUANCE_LOG_CHECKPOINTS, c -> {
            Optional<StoredCheckpoint> latest = latest(c);
            Optional<SignedCheckpoint> add = next.apply(latest);
            if (add.isEmpty()) {
                return Optional.empty();
            }
            StoredCheckpoint stored = new StoredCheckpoint(latest.map(StoredCheckpoint::id).orElse(0L) + 1, add.get());
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO issuance_log_checkpoints "
                    + "(id, tree_size, head_hash, signed_at, note) VALUES (?, ?, ?, ?, ?)")) {
                ps.setLong(1, stored.id());
                ps.setLong(2, stored.checkpoint().size());
                ps.setString(3, stored.checkpoint().headHashHex());
                ps.setTimestamp(4, Timestamp.from(stored.checkpoint().timestamp()));
                ps.setString(5, stored.note());
                ps.executeUpdate();
            }
            return Optional.of(stored);
        });
    }

    @Override
    public Optional<StoredCheckpoint> latest() {
        return db.inTransaction(JdbcCheckpointStore::latest);
    }

    private static Optional<StoredCheckpoint> latest(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT id, note FROM issuance_log_checkpoints ORDER BY id DESC LIMIT 1");
                ResultSet rs = ps.executeQuery()) {
            return rs.next() ? Optional.of(read(rs)) : Optional.empty();
        }
    }

    @Override
    public List<StoredCheckpoint> list(long fromId, int limit) {
        return db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT id, note FROM issuance_log_checkpoints WHERE id >= ? ORDER BY id LIMIT ?")) {
                ps.setLong(1, fromId);
                ps.setInt(2, limit);
                List<StoredCheckpoint> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(read(rs));
                    }
                }
                return out;
            }
        });
    }

    /** The note is what counts: the checkpoint is read from it, not from the columns that repeat it. */
    private static StoredCheckpoint read(ResultSet rs) throws SQLException {
        long id = rs.getLong(1);
        String note = rs.getString(2);
        try {
            return new StoredCheckpoint(id, new SignedCheckpoint(CheckpointNotes.readUnverified(note), note));
        } catch (CheckpointException e) {
            throw new StoreException("stored issuance log checkpoint " + id + " is not a valid checkpoint note ("
                    + e.getMessage() + "); the checkpoint table was altered", e);
        }
    }
}
