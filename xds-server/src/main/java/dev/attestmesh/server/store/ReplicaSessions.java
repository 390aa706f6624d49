package dev.attestmesh.server.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Which control plane replicas are connected to a PostgreSQL store now: every replica holds one dedicated
 * {@code LISTEN} connection for change notification ({@link PostgresChangeNotifier}) whose {@code application_name}
 * is {@value #APPLICATION_NAME}, for as long as it runs. Offline commands ({@code attestmesh ca rekey}) refuse to
 * run while any is listed.
 *
 * <p>PostgreSQL shows another role's sessions' {@code application_name} only to superusers and members of
 * {@code pg_read_all_stats}: replicas connecting as another database user than the one asking may not be seen,
 * which is why the offline commands also require the operator's explicit confirmation on PostgreSQL.
 */
public final class ReplicaSessions {
    /** The {@code application_name} of a replica's change-notification connection. */
    public static final String APPLICATION_NAME = "attestmesh-changes";

    /** One connected replica, as PostgreSQL reports it (no credentials). */
    public record Session(int pid, String clientAddress, String backendStart) {}

    private ReplicaSessions() {}

    /**
     * The replicas' sessions on the current database other than the caller's own.
     *
     * @throws IllegalArgumentException when {@code db} is not PostgreSQL
     */
    public static List<Session> connected(Database db) {
        if (db.vendor() != Database.Vendor.POSTGRESQL) {
            throw new IllegalArgumentException("replica sessions are listed on PostgreSQL only, not " + db.description());
        }
        return db.inTransaction(ReplicaSessions::query);
    }

    private static List<Session> query(Connection c) throws SQLException {
        List<Session> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT pid, COALESCE(host(client_addr), 'local socket'), "
                + "CAST(backend_start AS VARCHAR) FROM pg_stat_activity WHERE datname = current_database() "
                + "AND application_name = ? AND pid <> pg_backend_pid() ORDER BY backend_start")) {
            ps.setString(1, APPLICATION_NAME);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Session(rs.getInt(1), rs.getString(2), rs.getString(3)));
                }
            }
        }
        return out;
    }
}
