package dev.attestmesh.server.mesh;

import dev.attestmesh.server.store.Database;
import dev.attestmesh.server.store.StoreException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
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
        return db.inTransaction(MeshConfigStore::latest);
    }

    private static Optional<StoredMeshConfig> latest(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT version, document, sha256, created_at FROM mesh_config ORDER BY version DESC LIMIT 1");
                ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
                return Optional.empty();
            }
            return Optional.of(new StoredMeshConfig(rs.getLong(1), rs.getString(2), rs.getString(3),
                    rs.getTimestamp(4).toInstant()));
        }
    }

    /** Appends a new version; fails (primary key) if another writer took that version first. */
    public void append(StoredMeshConfig config) {
        db.inTransaction(c -> {
            insert(c, config);
            return null;
        });
    }

    /**
     * Appends {@code next} only while the newest stored version is still {@code expectedLatest} (0: none
     * stored), the version its writer read: a compare-and-set, so two replicas replacing the config at
     * once never both succeed on the same base. The primary key settles writers that read at the same
     * instant.
     *
     * @return empty when {@code next} was written; else the newest stored document that another writer
     *     stored first (nothing written)
     */
    public Optional<StoredMeshConfig> appendAfter(long expectedLatest, StoredMeshConfig next) {
        if (next.version() != expectedLatest + 1) {
            throw new IllegalArgumentException("mesh config version " + next.version() + " does not follow "
                    + expectedLatest);
        }
        try {
            return db.inTransaction(c -> {
                Optional<StoredMeshConfig> newest = latest(c);
                long stored = newest.map(StoredMeshConfig::version).orElse(0L);
                if (stored != expectedLatest) {
                    return newest;
                }
                insert(c, next);
                return Optional.<StoredMeshConfig>empty();
            });
        } catch (StoreException e) {
            if (isUniqueViolation(e)) {
                return Optional.of(latest().orElseThrow(() -> e));
            }
            throw e;
        }
    }

    /**
     * Stores {@code first} only when no mesh config was ever stored. Two replicas starting together on an
     * empty database both try version {@code first.version()}: the primary key lets one in, and the other
     * finds that one's document.
     *
     * @return the newest stored document when there was one (nothing written), else empty ({@code first}
     *     was written)
     */
    public Optional<StoredMeshConfig> appendIfEmpty(StoredMeshConfig first) {
        try {
            return db.inTransaction(c -> {
                Optional<StoredMeshConfig> newest = latest(c);
                if (newest.isEmpty()) {
                    insert(c, first);
                }
                return newest;
            });
        } catch (StoreException e) {
            if (isUniqueViolation(e)) {
                return Optional.of(latest().orElseThrow(() -> e));
            }
            throw e;
        }
    }

    private static void insert(Connection c, StoredMeshConfig config) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO mesh_config (version, document, sha256, created_at) VALUES (?, ?, ?, ?)")) {
            ps.setLong(1, config.version());
            ps.setString(2, config.document());
            ps.setString(3, config.sha256());
            ps.setTimestamp(4, Timestamp.from(config.createdAt()));
            ps.executeUpdate();
        }
    }

    private static boolean isUniqueViolation(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s && "23505".equals(s.getSQLState())) { // H2 and PostgreSQL
                return true;
            }
        }
        return false;
    }
}
