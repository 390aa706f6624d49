package dev.attestmesh.server.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Optional;

/** Stores the sealed (encrypted) mesh CA. The store never sees the CA in the clear. */
public final class CaMaterialStore {
    private static final String ID = "mesh";
    private final Database db;

    public CaMaterialStore(Database db) {
        this.db = db;
    }

    public Optional<byte[]> load() {
        return db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT sealed FROM ca_material WHERE id = ?")) {
                ps.setString(1, ID);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(rs.getBytes(1)) : Optional.empty();
                }
            }
        });
    }

    public void save(byte[] sealed, Instant now) {
        db.inTransaction(c -> {
            try (PreparedStatement del = c.prepareStatement("DELETE FROM ca_material WHERE id = ?");
                    PreparedStatement ins = c.prepareStatement(
                            "INSERT INTO ca_material (id, sealed, updated_at) VALUES (?, ?, ?)")) {
                del.setString(1, ID);
                del.executeUpdate();
                ins.setString(1, ID);
                ins.setBytes(2, sealed);
                ins.setTimestamp(3, Timestamp.from(now));
                ins.executeUpdate();
            }
            return null;
        });
    }
}
