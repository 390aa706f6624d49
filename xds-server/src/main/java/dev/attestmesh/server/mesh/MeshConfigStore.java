package dev.attestmesh.server.mesh;

import dev.attestmesh.server.store.Database;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Optional;

/**
 * Stores every accepted mesh config document with its version (table {@code mesh_config}, Flyway
 * migration V5). Versions only grow; the newest row is the current config.
 */
public final class MeshConfigStore {
    /** One stored document. */
    public record StoredMeshConfig(long version, String document, String sha256, Instant createdAt) {}

    private final Database db;

    public MeshConfigStore(Database db) {
        this.db = db;
    }

    /** The newest stored document, if any was ever accepted. */
    public Optional<StoredMeshConfig> latest() {
        return db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT version, document, sha256, created_at FROM mesh_config ORDER BY version DESC LIMIT 1");
                    ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new StoredMeshConfig(rs.getLong(1), rs.getString(2), rs.getString(3),
                        rs.getTimestamp(4).toInstant()));
            }
        });
    }

    /** Appends a new version; fails (primary key) if another writer took that version first. */
    public void append(StoredMeshConfig config) {
        db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO mesh_config (version, document, sha256, created_at) VALUES (?, ?, ?, ?)")) {
                ps.setLong(1, config.version());
                ps.setString(2, config.document());
                ps.setString(3, config.sha256());
                ps.setTimestamp(4, Timestamp.from(config.createdAt()));
                ps.executeUpdate();
            }
            return null;
        });
    }
}
