package dev.attestmesh.server.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;
import java.util.Properties;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcDataSource;

/**
 * The control plane's relational store: an embedded H2 file database in the data directory by default,
 * or a pooled PostgreSQL database that several replicas share. Schema migrations are Flyway scripts
 * under {@code db/migration}, written once for both databases and applied at start.
 *
 * <p>Cross-process safety: {@link #underLock} and {@link #lockInTransaction} serialize work on a named row
 * of the {@code store_locks} table ({@code SELECT ... FOR UPDATE}), which holds across every process
 * using the same database.
 */
public final class Database implements AutoCloseable {
    /** The database product, for the few places where behaviour differs. */
    public enum Vendor { H2, POSTGRESQL }

    /** Lock names present in {@code store_locks} (see V3 migration). */
    public static final String LOCK_ISSUANCE_LOG = "issuance_log";
    public static final String LOCK_POLICIES = "policies";
    public static final String LOCK_REGISTRATIONS = "registrations";
    public static final String LOCK_CA = "ca";
    public static final String LOCK_SECRETS = "secrets";
    /** Checkpointing the issuance log (V7 migration). */
    public static final String LOCK_ISSUANCE_LOG_CHECKPOINTS = "issuance_log_checkpoints";

    private final DataSource dataSource;
    private final String description;
    private final Vendor vendor;
    private final Optional<Connection> keepOpen;
    private final Optional<DatabaseSettings> dedicated;
    private final boolean exclusive;
    /** The embedded file store's group commit; null for PostgreSQL, whose commits are durable already. */
    private final EmbeddedGroupCommit groupCommit;
    /** Set on a thread inside {@link #writtenOnReturn}: its transactions' file writes wait for the scope's end. */
    private final ThreadLocal<boolean[]> deferredWrite = new ThreadLocal<>();
    private final java.util.concurrent.ConcurrentHashMap<Class<?>, Object> attachments =
            new java.util.concurrent.ConcurrentHashMap<>();

    private Database(DataSource dataSource, String description, Vendor vendor, boolean holdOpen,
            Optional<DatabaseSettings> dedicated, boolean exclusive) {
        this.exclusive = exclusive;
        this.dataSource = dataSource;
        this.description = description;
        this.vendor = vendor;
        this.dedicated = dedicated;
        try {
            // An embedded H2 database closes with its last connection; holding one keeps it open (and
            // its file lock held) for the life of the control plane instead of reopening per query.
            this.keepOpen = holdOpen ? Optional.of(dataSource.getConnection()) : Optional.empty();
            this.groupCommit = vendor == Vendor.H2 && exclusive && keepOpen.isPresent()
                    ? EmbeddedGroupCommit.of(keepOpen.get()) : null;
        } catch (SQLException e) {
            throw new StoreException("cannot open " + description + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            if (keepOpen.isPresent()) {
                keepOpen.get().close();
            }
        } catch (SQLException e) {
            throw new StoreException("cannot close " + description + ": " + e.getMessage(), e);
        } finally {
            if (dataSource instanceof HikariDataSource pool) {
                pool.close();
            }
        }
    }

    /**
     * Opens the store the settings name: the embedded H2 file database in {@code dataDir} when no URL
     * is set, else the database at the URL (PostgreSQL through a connection pool). Migrates it first.
     */
    public static Database open(DatabaseSettings settings, Path dataDir) {
        if (settings.isEmbedded()) {
            return embedded(dataDir);
        }
        String url = settings.url().orElseThrow();
        if (!settings.isPostgres()) {
            JdbcDataSource ds = new JdbcDataSource();
            ds.setURL(url);
            ds.setUser(settings.user().orElse("attestmesh"));
            ds.setPassword(settings.password().orElse(""));
            return migrate(new Database(ds, "H2 " + url.replaceAll(";.*", ""), Vendor.H2, true, Optional.empty(),
                    false));
        }
        HikariConfig cfg = new HikariConfig();
        cfg.setJdbcUrl(url);
        settings.user().ifPresent(cfg::setUsername);
        settings.password().ifPresent(cfg::setPassword);
        cfg.setMaximumPoolSize(settings.maxPoolSize());
        cfg.setMinimumIdle(Math.min(2, settings.maxPoolSize()));
        cfg.setPoolName("attestmesh-store");
        cfg.setConnectionTimeout(10_000);
        // Fail at start with the driver's reason (wrong host, password, database) rather than on first use.
        cfg.setInitializationFailTimeout(10_000);
        HikariDataSource pool;
        try {
            pool = new HikariDataSource(cfg);
        } catch (RuntimeException e) {
            throw new StoreException("cannot connect to PostgreSQL at " + redact(url) + ": " + rootMessage(e)
                    + " (check attestmesh.database.url / ATTESTMESH_DATABASE_URL, user and password)", e);
        }
        return migrate(new Database(pool, "PostgreSQL " + redact(url).replaceAll("\\?.*", ""), Vendor.POSTGRESQL,
                false, Optional.of(settings), false));
    }

    /** Opens (creating if needed) the embedded H2 database {@code <dataDir>/attestmesh.mv.db}. */
    public static Database embedded(Path dataDir) {
        JdbcDataSource ds = new JdbcDataSource();
        // FILE_LOCK=FILE keeps a second process from opening the same file; AUTO_SERVER stays off so the
        // database is never reachable over the network. QUERY_CACHE_SIZE keeps every statement of the
        // attestation path parsed per session (H2's default of 8 is smaller than that set). H2 writes commits
        // to its file in the background (WRITE_DELAY, 500 ms); inTransaction waits for a group write
        // (EmbeddedGroupCommit) after every transaction that changed something, so an answered Attest
        // survives a kill -9: its log entry and node record are in the file. It does not fsync: an OS crash
        // or power loss can still lose what the OS had not yet written (docs/reliability.md, "Fault suite").
        ds.setURL("jdbc:h2:file:" + dataDir.toAbsolutePath().resolve("attestmesh")
                + ";FILE_LOCK=FILE;DB_CLOSE_ON_EXIT=FALSE;QUERY_CACHE_SIZE=64");
        ds.setUser("attestmesh");
        ds.setPassword("");
        // Pooled, because opening an H2 session per transaction costs more than the transaction on the
        // attestation path. HikariCP rather than H2's own pool: H2's pool rolls back every connection it
        // takes back, and an H2 rollback empties the session's parsed-statement cache, so every statement
        // was parsed again on every attestation. HikariCP only rolls back a connection left mid-transaction.
        HikariConfig cfg = new HikariConfig();
        cfg.setDataSource(ds);
        cfg.setMaximumPoolSize(16);
        cfg.setMinimumIdle(2);
        cfg.setPoolName("attestmesh-store-h2");
        cfg.setConnectionTimeout(10_000);
        cfg.setInitializationFailTimeout(10_000);
        HikariDataSource pool;
        try {
            pool = new HikariDataSource(cfg);
        } catch (RuntimeException e) {
            throw new StoreException("cannot open the embedded database in " + dataDir.toAbsolutePath() + ": "
                    + rootMessage(e) + " (is another control plane using this data directory?)", e);
        }
        return migrate(new Database(pool, "H2 file " + dataDir.toAbsolutePath().resolve("attestmesh.mv.db"),
                Vendor.H2, true, Optional.empty(), true));
    }

    private static Database migrate(Database db) {
        try {
            Flyway.configure().dataSource(db.dataSource).locations("classpath:db/migration").load().migrate();
        } catch (RuntimeException e) {
            db.close();
            throw new StoreException("cannot migrate the schema of " + db.description + ": " + rootMessage(e), e);
        }
        return db;
    }

    public Connection connection() throws SQLException {
        return dataSource.getConnection();
    }

    /**
     * Asks the store a trivial query ({@code SELECT 1}) with a query timeout; for readiness. Throws
     * {@link StoreException} naming the store when it does not answer.
     *
     * @param timeoutSeconds the query timeout (at least 1); the caller bounds the connection attempt itself
     */
    public void ping(int timeoutSeconds) {
        try (Connection c = dataSource.getConnection(); java.sql.Statement st = c.createStatement()) {
            st.setQueryTimeout(Math.max(1, timeoutSeconds));
            try (java.sql.ResultSet rs = st.executeQuery("SELECT 1")) {
                if (!rs.next()) {
                    throw new StoreException(description + " answered SELECT 1 with no row", null);
                }
            }
        } catch (SQLException e) {
            throw new StoreException(description + " does not answer: " + rootMessage(e), e);
        }
    }

    public String description() {
        return description;
    }

    public Vendor vendor() {
        return vendor;
    }

    /**
     * True when this process is the only writer: the embedded H2 file database, whose file lock keeps
     * every other process out. Stores may then keep what they last wrote in memory instead of reading it
     * back under a store lock; a shared database (PostgreSQL, or an H2 URL) never allows that.
     */
    public boolean isExclusive() {
        return exclusive;
    }

    /**
     * The one object of type {@code type} attached to this database, created on first use: in-memory state
     * that every store object over this database shares (for example a cached last row).
     */
    public <T> T attachment(Class<T> type, Supplier<T> create) {
        return type.cast(attachments.computeIfAbsent(type, t -> create.get()));
    }

    /**
     * Opens a new physical connection outside the pool, for long-lived uses (LISTEN) that must not
     * hold a pooled connection. Only for PostgreSQL; the caller closes it.
     */
    public Connection openDedicatedConnection() throws SQLException {
        DatabaseSettings s = dedicated.orElseThrow(() ->
                new IllegalStateException("dedicated connections exist only for PostgreSQL stores"));
        Properties p = new Properties();
        s.user().ifPresent(u -> p.setProperty("user", u));
        s.password().ifPresent(pw -> p.setProperty("password", pw));
        p.setProperty("ApplicationName", ReplicaSessions.APPLICATION_NAME); // how offline commands see a live replica
        return DriverManager.getConnection(s.url().orElseThrow(), p);
    }

    /** Runs {@code work} in one transaction, committing on success and rolling back on failure. */
    public <T> T inTransaction(SqlWork<T> work) {
        T result;
        boolean wrote = false;
        try (Connection c = connection()) {
            c.setAutoCommit(false);
            try {
                result = work.run(c);
                wrote = groupCommit != null && EmbeddedGroupCommit.hasChanges(c);
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new StoreException("database operation failed on " + description + ": " + e.getMessage(), e);
        }
        if (wrote) {
            boolean[] deferred = deferredWrite.get();
            if (deferred != null) {
                deferred[0] = true; // written once, when the enclosing writtenOnReturn scope ends
            } else {
                awaitWritten();
            }
        }
        return result;
    }

    /**
     * Runs {@code work} so that every transaction it commits on this thread is in the database file when this
     * returns (or throws), with one group write at the end instead of a wait after each transaction: the
     * attestation path commits its issuance-log entry under the log's lock and its node record after it, and
     * neither waits for the file while holding anything. Only the embedded H2 store defers anything; on
     * PostgreSQL every commit is durable when it returns, and this just runs {@code work}. Nested scopes
     * belong to the outermost.
     */
    public <T, E extends Exception> T writtenOnReturn(ThrowingSupplier<T, E> work) throws E {
        if (groupCommit == null || deferredWrite.get() != null) {
            return work.get();
        }
        boolean[] pending = {false};
        deferredWrite.set(pending);
        try {
            return work.get();
        } finally {
            deferredWrite.remove();
            if (pending[0]) {
                awaitWritten();
            }
        }
    }

    private void awaitWritten() {
        // Embedded H2: durable once in the file (not only committed in memory) before anyone is answered.
        try {
            groupCommit.awaitWritten();
        } catch (RuntimeException e) {
            throw new StoreException("committed, but could not write the embedded database file "
                    + description + ": " + rootMessage(e), e);
        }
    }

    /** Work that returns a value and may throw {@code E}. */
    @FunctionalInterface
    public interface ThrowingSupplier<T, E extends Exception> {
        T get() throws E;
    }

    /**
     * Runs {@code work} in one transaction that first takes the named store lock, so it never overlaps
     * with other work under the same lock in this or any other process sharing the database.
     */
    public <T> T lockInTransaction(String lockName, SqlWork<T> work) {
        return inTransaction(c -> {
            lock(c, lockName);
            return work.run(c);
        });
    }

    /**
     * Holds the named store lock while {@code work} runs; {@code work} may use the store through its own
     * connections (the lock sits on a separate one). Serializes start-up steps across replicas.
     */
    public <T> T underLock(String lockName, Supplier<T> work) {
        return inTransaction(c -> {
            lock(c, lockName);
            return work.get();
        });
    }

    private static void lock(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT name FROM store_locks WHERE name = ? FOR UPDATE")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new SQLException("store lock '" + name + "' is missing from table store_locks");
                }
            }
        }
    }

    static boolean isUniqueViolation(SQLException e) {
        // SQLSTATE 23505 on both H2 and PostgreSQL.
        // A failed JDBC batch (BatchUpdateException) carries the statement's own error as its next exception.
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s) {
                for (SQLException x = s; x != null; x = x.getNextException()) {
                    if ("23505".equals(x.getSQLState())) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    static String redact(String url) {
        return url.replaceAll("password=[^&;]*", "password=***");
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return redact(String.valueOf(t.getMessage()));
    }

    /** A unit of JDBC work. */
    @FunctionalInterface
    public interface SqlWork<T> {
        T run(Connection c) throws SQLException;
    }
}
