package dev.attestmesh.server.store;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcDataSource;

/**
 * The control plane's relational store: an embedded H2 file database in the data directory by default.
 * Schema migrations are Flyway scripts under {@code db/migration}, applied at start.
 */
public final class Database implements AutoCloseable {
    private final DataSource dataSource;
    private final String description;
    private final Connection keepOpen;

    private Database(DataSource dataSource, String description) {
        this.dataSource = dataSource;
        this.description = description;
        try {
            // An embedded H2 database closes with its last connection; holding one keeps it open (and
            // its file lock held) for the life of the control plane instead of reopening per query.
            this.keepOpen = dataSource.getConnection();
        } catch (SQLException e) {
            throw new StoreException("cannot open " + description + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            keepOpen.close();
        } catch (SQLException e) {
            throw new StoreException("cannot close " + description + ": " + e.getMessage(), e);
        }
    }

    /** Opens (creating if needed) the embedded H2 database {@code <dataDir>/attestmesh.mv.db}. */
    public static Database embedded(Path dataDir) {
        JdbcDataSource ds = new JdbcDataSource();
        // FILE_LOCK=FILE keeps a second process from opening the same file; AUTO_SERVER stays off so the
        // database is never reachable over the network.
        ds.setURL("jdbc:h2:file:" + dataDir.toAbsolutePath().resolve("attestmesh")
                + ";FILE_LOCK=FILE;DB_CLOSE_ON_EXIT=FALSE");
        ds.setUser("attestmesh");
        ds.setPassword("");
        return migrate(ds, "H2 file " + dataDir.toAbsolutePath().resolve("attestmesh.mv.db"));
    }

    /** Uses an externally configured data source (PostgreSQL), migrating it first. */
    public static Database of(DataSource ds, String description) {
        return migrate(ds, description);
    }

    private static Database migrate(DataSource ds, String description) {
        Flyway.configure().dataSource(ds).locations("classpath:db/migration").load().migrate();
        return new Database(ds, description);
    }

    public Connection connection() throws SQLException {
        return dataSource.getConnection();
    }

    public String description() {
        return description;
    }

    /** Runs {@code work} in one transaction, committing on success and rolling back on failure. */
    public <T> T inTransaction(SqlWork<T> work) {
        try (Connection c = connection()) {
            c.setAutoCommit(false);
            try {
                T result = work.run(c);
                c.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new StoreException("database operation failed on " + description + ": " + e.getMessage(), e);
        }
    }

    /** A unit of JDBC work. */
    @FunctionalInterface
    public interface SqlWork<T> {
        T run(Connection c) throws SQLException;
    }
}
