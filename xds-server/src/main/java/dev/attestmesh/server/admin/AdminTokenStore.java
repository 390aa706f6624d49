package dev.attestmesh.server.admin;

import dev.attestmesh.server.store.Database;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Persists admin tokens by their SHA-256 (table {@code admin_tokens}, migration V4); never the tokens. */
public final class AdminTokenStore {
    /** A stored token, without the token. */
    public record StoredToken(String id, String name, AdminRole role, String tokenSha256, Instant createdAt) {}

    private final Database db;

    public AdminTokenStore(Database db) {
        this.db = db;
    }

    public void insert(StoredToken t) {
        db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO admin_tokens (id, name, role, token_sha256, created_at) VALUES (?, ?, ?, ?, ?)")) {
                ps.setString(1, t.id());
                ps.setString(2, t.name());
                ps.setString(3, t.role().name());
                ps.setString(4, t.tokenSha256());
                ps.setTimestamp(5, Timestamp.from(t.createdAt()));
                ps.executeUpdate();
            }
            return null;
        });
    }

    public Optional<StoredToken> byHash(String sha256) {
        return db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT id, name, role, token_sha256, created_at FROM admin_tokens WHERE token_sha256 = ?")) {
                ps.setString(1, sha256);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(read(rs)) : Optional.empty();
                }
            }
        });
    }

    public List<StoredToken> all() {
        return db.inTransaction(c -> {
            List<StoredToken> out = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT id, name, role, token_sha256, created_at FROM admin_tokens ORDER BY created_at, id");
                    ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(read(rs));
                }
            }
            return out;
        });
    }

    /** @return false when no token has this id */
    public boolean delete(String id) {
        return db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM admin_tokens WHERE id = ?")) {
                ps.setString(1, id);
                return ps.executeUpdate() > 0;
            }
        });
    }

    private static StoredToken read(ResultSet rs) throws SQLException {
        return new StoredToken(rs.getString(1), rs.getString(2), AdminRole.valueOf(rs.getString(3)), rs.getString(4),
                rs.getTimestamp(5).toInstant());
    }
}
