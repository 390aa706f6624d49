package dev.attestmesh.server.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** Stores each policy's current version and canonical document. */
public final class PolicyStore {
    /** One stored policy. */
    public record StoredPolicy(String id, long version, String document, String sha256) {}

    private final Database db;

    public PolicyStore(Database db) {
        this.db = db;
    }

    public Map<String, StoredPolicy> loadAll() {
        return db.inTransaction(PolicyStore::read);
    }

    private static Map<String, StoredPolicy> read(Connection c) throws SQLException {
        Map<String, StoredPolicy> out = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT id, version, document, sha256 FROM policies ORDER BY id");
                ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.put(rs.getString(1), new StoredPolicy(rs.getString(1), rs.getLong(2), rs.getString(3),
                        rs.getString(4)));
            }
        }
        return out;
    }

    /** Replaces the whole policy set in one transaction. */
    public void replaceAll(Iterable<StoredPolicy> policies, Instant now) {
        db.lockInTransaction(Database.LOCK_POLICIES, c -> {
            write(c, policies, now);
            return null;
        });
    }

    /**
     * Replaces the policy set with what {@code next} computes from the stored one, in one transaction
     * under the policies lock: two replicas replacing policies at once cannot both derive their
     * versions from the same stored set.
     *
     * @return the rows written
     */
    public List<StoredPolicy> replaceAll(Function<Map<String, StoredPolicy>, List<StoredPolicy>> next, Instant now) {
        return db.lockInTransaction(Database.LOCK_POLICIES, c -> {
            List<StoredPolicy> rows = List.copyOf(next.apply(read(c)));
            write(c, rows, now);
            return rows;
        });
    }

    /**
     * Writes {@code rows} only when the store holds no policy, deciding under the policies lock: two
     * replicas starting together on an empty database seed it once.
     *
     * @return the policies stored before: empty exactly when {@code rows} were written
     */
    public Map<String, StoredPolicy> writeIfEmpty(List<StoredPolicy> rows, Instant now) {
        return db.lockInTransaction(Database.LOCK_POLICIES, c -> {
            Map<String, StoredPolicy> stored = read(c);
            if (stored.isEmpty()) {
                write(c, rows, now);
            }
            return stored;
        });
    }

    private static void write(Connection c, Iterable<StoredPolicy> policies, Instant now) throws SQLException {
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
    }
}
