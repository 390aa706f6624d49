package dev.attestmesh.server.secrets;

import dev.attestmesh.server.store.Database;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongFunction;

/**
 * Secrets in the relational store (tables {@code secrets}, {@code secret_versions}, {@code secret_imports}). Only
 * sealed values are written ({@link SecretVault}); every write is one transaction, so a failure stores nothing.
 */
public final class SecretStore {
    private final Database db;

    public SecretStore(Database db) {
        this.db = db;
    }

    /**
     * Writes a new version of {@code name} (version 1 when new) with the given rules, in one transaction.
     *
     * @param seal builds the sealed value for the version number chosen here
     * @return the version written
     */
    public long putVersion(String name, List<SecretRule> allow, List<SecretRule> exports, LongFunction<byte[]> seal,
            int size, Instant now) {
        return db.lockInTransaction(Database.LOCK_SECRETS, c -> {
            long current = 0;
            try (PreparedStatement ps = c.prepareStatement("SELECT current_version FROM secrets WHERE name = ?")) {
                ps.setString(1, name);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        current = rs.getLong(1);
                    }
                }
            }
            long next = current + 1;
            if (current == 0) {
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO secrets (name, allow_rules, export_rules, "
                        + "current_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)")) {
                    ps.setString(1, name);
                    ps.setString(2, join(allow));
                    ps.setString(3, join(exports));
                    ps.setLong(4, next);
                    ps.setTimestamp(5, Timestamp.from(now));
                    ps.setTimestamp(6, Timestamp.from(now));
                    ps.executeUpdate();
                }
            } else {
                try (PreparedStatement ps = c.prepareStatement("UPDATE secrets SET allow_rules = ?, export_rules = ?, "
                        + "current_version = ?, updated_at = ? WHERE name = ?")) {
                    ps.setString(1, join(allow));
                    ps.setString(2, join(exports));
                    ps.setLong(3, next);
                    ps.setTimestamp(4, Timestamp.from(now));
                    ps.setString(5, name);
                    ps.executeUpdate();
                }
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO secret_versions (name, version, sealed, "
                    + "value_size, created_at) VALUES (?, ?, ?, ?, ?)")) {
                ps.setString(1, name);
                ps.setLong(2, next);
                ps.setBytes(3, seal.apply(next));
                ps.setInt(4, size);
                ps.setTimestamp(5, Timestamp.from(now));
                ps.executeUpdate();
            }
            return next;
        });
    }

    /** Replaces the imports of {@code name}; false when there is no such secret. */
    public boolean setImports(String name, List<SecretRule> imports, Instant now) {
        return db.lockInTransaction(Database.LOCK_SECRETS, c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE secrets SET updated_at = ? WHERE name = ?")) {
                ps.setTimestamp(1, Timestamp.from(now));
                ps.setString(2, name);
                if (ps.executeUpdate() == 0) {
                    return false;
                }
            }
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM secret_imports WHERE name = ?")) {
                ps.setString(1, name);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO secret_imports (name, import_rule, created_at) VALUES (?, ?, ?)")) {
                for (SecretRule r : imports) {
                    ps.setString(1, name);
                    ps.setString(2, r.toString());
                    ps.setTimestamp(3, Timestamp.from(now));
                    ps.executeUpdate();
                }
            }
            return true;
        });
    }

    /** Deletes the secret, every version and every import; false when there was none. */
    public boolean delete(String name) {
        return db.lockInTransaction(Database.LOCK_SECRETS, c -> {
            for (String table : List.of("secret_imports", "secret_versions")) {
                try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + table + " WHERE name = ?")) {
                    ps.setString(1, name);
                    ps.executeUpdate();
                }
            }
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM secrets WHERE name = ?")) {
                ps.setString(1, name);
                return ps.executeUpdate() > 0;
            }
        });
    }

    /** Every secret's metadata, by name. */
    public List<SecretMetadata> all() {
        return db.inTransaction(c -> read(c, Optional.empty()));
    }

    public Optional<SecretMetadata> get(String name) {
        return db.inTransaction(c -> read(c, Optional.of(name))).stream().findFirst();
    }

    /** The sealed value of one version. */
    public Optional<byte[]> sealed(String name, long version) {
        return db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT sealed FROM secret_versions WHERE name = ? AND version = ?")) {
                ps.setString(1, name);
                ps.setLong(2, version);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(rs.getBytes(1)) : Optional.empty();
                }
            }
        });
    }

    private static List<SecretMetadata> read(Connection c, Optional<String> only) throws SQLException {
        String where = only.isPresent() ? " WHERE name = ?" : "";
        Map<String, Object[]> rows = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT name, allow_rules, export_rules, current_version, "
                + "created_at, updated_at FROM secrets" + where + " ORDER BY name")) {
            if (only.isPresent()) {
                ps.setString(1, only.get());
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.put(rs.getString(1), new Object[] {rs.getString(2), rs.getString(3), rs.getLong(4),
                        rs.getTimestamp(5).toInstant(), rs.getTimestamp(6).toInstant()});
                }
            }
        }
        Map<String, List<SecretMetadata.Version>> versions = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT name, version, value_size, created_at FROM "
                + "secret_versions" + where + " ORDER BY name, version")) {
            if (only.isPresent()) {
                ps.setString(1, only.get());
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    versions.computeIfAbsent(rs.getString(1), k -> new ArrayList<>()).add(new SecretMetadata.Version(
                            rs.getLong(2), rs.getInt(3), rs.getTimestamp(4).toInstant()));
                }
            }
        }
        Map<String, List<SecretRule>> imports = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT name, import_rule FROM secret_imports" + where
                + " ORDER BY name, import_rule")) {
            if (only.isPresent()) {
                ps.setString(1, only.get());
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    imports.computeIfAbsent(rs.getString(1), k -> new ArrayList<>()).add(SecretRule.parse(rs.getString(2)));
                }
            }
        }
        List<SecretMetadata> out = new ArrayList<>();
        rows.forEach((name, r) -> out.add(new SecretMetadata(name, split((String) r[0]), split((String) r[1]),
                imports.getOrDefault(name, List.of()), (Long) r[2], versions.getOrDefault(name, List.of()),
                (Instant) r[3], (Instant) r[4])));
        return out;
    }

    private static String join(List<SecretRule> rules) {
        return String.join(",", rules.stream().map(SecretRule::toString).toList());
    }

    private static List<SecretRule> split(String s) {
        return s.isEmpty() ? List.of() : Arrays.stream(s.split(",")).map(SecretRule::parse).toList();
    }
}
