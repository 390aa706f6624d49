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
import java.util.function.Supplier;

/** Stores each registration's current version and canonical document (table {@code registrations}). */
public final class RegistrationStore {
    /** One stored registration. */
    public record StoredRegistration(String id, long version, String spiffeId, String document, String sha256) {}

    private final Database db;

    public RegistrationStore(Database db) {
        this.db = db;
    }

    public Map<String, StoredRegistration> loadAll() {
        return db.inTransaction(RegistrationStore::read);
    }

    private static Map<String, StoredRegistration> read(Connection c) throws SQLException {
        Map<String, StoredRegistration> out = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT id, version, spiffe_id, document, sha256 FROM registrations ORDER BY id");
                ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.put(rs.getString(1), new StoredRegistration(rs.getString(1), rs.getLong(2), rs.getString(3),
                        rs.getString(4), rs.getString(5)));
            }
        }
        return out;
    }

    /**
     * Writes the rows {@code rows} gives only when the store holds no registration, deciding under the
     * registrations lock: two replicas starting together on an empty database seed it once. {@code rows} runs
     * only then, under the lock, so it may check what the rows depend on; an exception it throws writes nothing.
     *
     * @return the registrations stored before: empty exactly when the rows were written
     */
    public Map<String, StoredRegistration> writeIfEmpty(Supplier<List<StoredRegistration>> rows, Instant now) {
        return db.lockInTransaction(Database.LOCK_REGISTRATIONS, c -> {
            Map<String, StoredRegistration> stored = read(c);
            if (stored.isEmpty()) {
                write(c, rows.get(), now);
            }
            return stored;
        });
    }

    /**
     * Replaces the registration set with what {@code next} computes from the stored one, in one
     * transaction under the registrations lock (replicas writing at once never reuse a version). A
     * failure rolls everything back: the stored set is either the old one or the new one.
     */
    public List<StoredRegistration> replaceAll(Function<Map<String, StoredRegistration>, List<StoredRegistration>> next,
            Instant now) {
        return db.lockInTransaction(Database.LOCK_REGISTRATIONS, c -> {
            List<StoredRegistration> rows = List.copyOf(next.apply(read(c)));
            write(c, rows, now);
            return rows;
        });
    }

    private static void write(Connection c, List<StoredRegistration> rows, Instant now) throws SQLException {
        try (PreparedStatement del = c.prepareStatement("DELETE FROM registrations");
                PreparedStatement ins = c.prepareStatement("INSERT INTO registrations "
                        + "(id, version, spiffe_id, document, sha256, updated_at) VALUES (?, ?, ?, ?, ?, ?)")) {
            del.executeUpdate();
            for (StoredRegistration r : rows) {
                ins.setString(1, r.id());
                ins.setLong(2, r.version());
                ins.setString(3, r.spiffeId());
                ins.setString(4, r.document());
                ins.setString(5, r.sha256());
                ins.setTimestamp(6, Timestamp.from(now));
                ins.addBatch();
            }
            ins.executeBatch();
        }
    }
}
