package dev.attestmesh.server.revocation;

import dev.attestmesh.server.store.Database;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;

/** Persists revocation rules (table {@code revocations}, migration V4). */
public final class RevocationStore {
    private final Database db;

    public RevocationStore(Database db) {
        this.db = db;
    }

    public void insert(RevocationRule r) {
        insertAll(List.of(r));
    }

    /** Stores every rule in one transaction: all of them or, on any failure, none. */
    public void insertAll(List<RevocationRule> rules) {
        db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO revocations (id, kind, rule_value, reason, "
                    + "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)")) {
                for (RevocationRule r : rules) {
                    ps.setString(1, r.id());
                    ps.setString(2, r.kind().name());
                    ps.setString(3, r.value());
                    ps.setString(4, r.reason());
                    ps.setString(5, r.createdBy());
                    ps.setTimestamp(6, Timestamp.from(r.createdAt()));
                    ps.executeUpdate();
                }
            }
            return null;
        });
    }

    /** @return false when no rule has this id */
    public boolean delete(String id) {
        return deleteAll(List.of(id));
    }

    /**
     * Deletes the rules in one transaction: all of them or none.
     *
     * @return false (and nothing deleted) when no rule has the first id
     */
    public boolean deleteAll(List<String> ids) {
        return db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM revocations WHERE id = ?")) {
                boolean first = true;
                for (String id : ids) {
                    ps.setString(1, id);
                    int deleted = ps.executeUpdate();
                    if (first && deleted == 0) {
                        return false; // nothing was deleted in this transaction
                    }
                    first = false;
                }
            }
            return true;
        });
    }

    /** Every rule, oldest first. */
    public List<RevocationRule> loadAll() {
        return db.inTransaction(c -> {
            List<RevocationRule> out = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT id, kind, rule_value, reason, created_by, created_at "
                    + "FROM revocations ORDER BY created_at, id");
                    ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new RevocationRule(rs.getString(1), RevocationKind.valueOf(rs.getString(2)), rs.getString(3),
                            rs.getString(4), rs.getString(5), rs.getTimestamp(6).toInstant()));
                }
            }
            return out;
        });
    }
}
