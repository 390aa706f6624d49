package dev.attestmesh.server.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Optional;

/**
 * Stores the sealed EAR signing key (table {@code ear_signing_keys}, migration V11). The store never sees the key in
 * the clear. Replicas agree on one key by racing to insert it: the primary key on the slot lets exactly one insert
 * win, and every replica then reads back the winner's row.
 */
public final class EarKeyStore {
    /** The one slot in use. */
    public static final String CURRENT = "current";

    /** A stored key: its {@code kid} and its sealed private JWK. */
    public record Stored(String kid, byte[] sealed) {}

    private final Database db;

    public EarKeyStore(Database db) {
        this.db = db;
    }

    /** The key in {@code slot}, if one was stored. */
    public Optional<Stored> load(String slot) {
        return db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT kid, sealed FROM ear_signing_keys WHERE slot = ?")) {
                ps.setString(1, slot);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(new Stored(rs.getString(1), rs.getBytes(2))) : Optional.empty();
                }
            }
        });
    }

    /**
     * Stores {@code key} in {@code slot} unless a key is already there.
     *
     * @return whether this call stored it (false: another replica, or an earlier start, got there first)
     */
    public boolean insertIfAbsent(String slot, Stored key, Instant now) {
        try {
            return db.inTransaction(c -> {
                try (PreparedStatement ps = c.prepareStatement(
                        "INSERT INTO ear_signing_keys (slot, kid, sealed, created_at) VALUES (?, ?, ?, ?)")) {
                    ps.setString(1, slot);
                    ps.setString(2, key.kid());
                    ps.setBytes(3, key.sealed());
                    ps.setTimestamp(4, Timestamp.from(now));
                    return ps.executeUpdate() == 1;
                }
            });
        } catch (StoreException e) {
            // The transaction rolled back; the row another writer committed is what everyone reads back.
            if (e.getCause() instanceof java.sql.SQLException s && Database.isUniqueViolation(s)) {
                return false;
            }
            throw e;
        }
    }
}
