package dev.attestmesh.server.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/** Stores each policy's current version and canonical document. */
public final class PolicyStore {
    /** One stored policy. */
    public record StoredPolicy(String id, long version, String document, String sha256) {}

    private final Database db;

    public PolicyStore(Database db) {
        this.db = db;
    }

    public Map<String, StoredPolicy> loadAll() {
        return db.inTransaction(c -> {
            Map<String, StoredPolicy> out = new LinkedHashMap<>();
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT id, version, document, sha256 FROM policies ORDER BY id");
                    ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), new StoredPolicy(rs.getString(1), rs.getLong(2), rs.getString(3),
                            rs.getString(4)));
                }
            }
            return out;
        });
    }

    /** Replaces the whole policy set in one transaction. */
    public void replaceAll(Iterable<StoredPolicy> policies, Instant now) {
        db.inTransaction(c -> {
            try (PreparedStatement del = c.prepareStatement("DELETE FROM policies");
                    PreparedStatement ins = c.prepareStatement(
                            "INSERT INTO policies (id, version, document, sha256, updated_at) VALUES (?, ?, ?, ?, ?)")) {
                del.executeUpdate();
                for (StoredPolicy p : policies) {
                    ins.setString(1, p.id());
                    ins.setLong(2, p.version());
                    ins.setString(3, p.document());
                    ins.setString(4, p.sha256());
                    ins.setTimestamp(5, Timestamp.from(now));
                    ins.addBatch();
                }
                ins.executeBatch();
            }
            return null;
        });
    }
}
