package dev.attestmesh.server.store;

import dev.attestmesh.issuance.IssuanceLog;
import dev.attestmesh.issuance.IssuanceLogEntry;
import dev.attestmesh.issuance.IssuanceLogStore;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The hash-chained issuance log in the relational store; append-only (no UPDATE or DELETE is issued).
 * Safe for several replicas sharing one database (see {@link #appendNext}).
 */
public final class JdbcIssuanceLogStore implements IssuanceLogStore {
    private static final String COLUMNS =
            "seq, serial_hex, node_id, spiffe_id, evidence_sha256, policy_ids, issued_at, previous_hash, entry_hash, "
            + "issued_at_exact, secret_name, secret_version";
    private final Database db;
    private final Head head;

    /**
     * The last entry written through any store object over one exclusive database; null until read.
     * Guarded by itself.
     */
    private static final class Head {
        private Optional<IssuanceLogEntry> last;
    }

    public JdbcIssuanceLogStore(Database db) {
        this.db = db;
        this.head = db.attachment(Head.class, Head::new);
    }

    /**
     * Persists {@code e} as given. Only for a single process (the {@link IssuanceLog} lock orders
     * appends); it fails on a sequence number another replica already used. Prefer {@link #appendNext}.
     */
    @Override
    public void append(IssuanceLogEntry e) {
        synchronized (head) {
            head.last = null;
        }
        db.lockInTransaction(Database.LOCK_ISSUANCE_LOG, c -> {
            insert(c, e);
            return null;
        });
    }

    /**
     * Reads the last entry and persists the entry {@code next} builds from it in one transaction that
     * holds the issuance-log lock ({@code SELECT ... FOR UPDATE} on its {@code store_locks} row), so
     * replicas sharing the database append one at a time: sequence numbers stay unique and gap-free and
     * every entry links to its true predecessor.
     *
     * <p>On an exclusive store (the embedded database, which no other process can open) the last entry
     * is kept in memory after the first read (shared by every store object over that database), and
     * appends are ordered by its lock instead; the
     * attestation path then costs one INSERT. A failed insert forgets the cached entry.
     */
    @Override
    public IssuanceLogEntry appendNext(Function<Optional<IssuanceLogEntry>, IssuanceLogEntry> next) {
        if (db.isExclusive()) {
            synchronized (head) {
                Optional<IssuanceLogEntry> last = head.last != null ? head.last : last();
                IssuanceLogEntry e = next.apply(last);
                head.last = null;
                db.inTransaction(c -> {
                    insert(c, e);
                    return null;
                });
                head.last = Optional.of(e);
                return e;
            }
        }
        return db.lockInTransaction(Database.LOCK_ISSUANCE_LOG, c -> {
            IssuanceLogEntry e = next.apply(last(c));
            insert(c, e);
            return e;
        });
    }

    private static void insert(Connection c, IssuanceLogEntry e) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO issuance_log (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            ps.setLong(1, e.sequence());
            ps.setString(2, e.serialHex());
            ps.setString(3, e.nodeId());
            ps.setString(4, e.spiffeId());
            ps.setString(5, e.evidenceSha256Hex());
            ps.setString(6, String.join(",", e.policyIds()));
            ps.setTimestamp(7, Timestamp.from(e.issuedAt()));
            ps.setString(8, e.previousHashHex());
            ps.setString(9, e.hashHex());
            ps.setString(10, e.issuedAt().toString());
            ps.setString(11, e.release().map(IssuanceLogEntry.SecretRelease::secretName).orElse(""));
            ps.setLong(12, e.release().map(IssuanceLogEntry.SecretRelease::version).orElse(0L));
            ps.executeUpdate();
        }
    }

    @Override
    public Optional<IssuanceLogEntry> last() {
        return db.inTransaction(JdbcIssuanceLogStore::last);
    }

    private static Optional<IssuanceLogEntry> last(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT " + COLUMNS + " FROM issuance_log ORDER BY seq DESC LIMIT 1");
                ResultSet rs = ps.executeQuery()) {
            return rs.next() ? Optional.of(read(rs)) : Optional.empty();
        }
    }

    @Override
    public List<IssuanceLogEntry> list(long fromSequence, int limit) {
        return db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT " + COLUMNS + " FROM issuance_log WHERE seq >= ? ORDER BY seq LIMIT ?")) {
                ps.setLong(1, fromSequence);
                ps.setInt(2, limit);
                List<IssuanceLogEntry> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(read(rs));
                    }
                }
                return out;
            }
        });
    }

    private static IssuanceLogEntry read(ResultSet rs) throws SQLException {
        String ids = rs.getString(6);
        String exact = rs.getString(10);
        Instant issuedAt = exact == null ? rs.getTimestamp(7).toInstant() : Instant.parse(exact);
        return new IssuanceLogEntry(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4),
                rs.getString(5), ids.isEmpty() ? List.of() : Arrays.asList(ids.split(",")), issuedAt,
                rs.getString(8), rs.getString(9), rs.getString(11).isEmpty() ? Optional.empty()
                        : Optional.of(new IssuanceLogEntry.SecretRelease(rs.getString(11), rs.getLong(12))));
    }
}
