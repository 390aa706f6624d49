package dev.attestmesh.server.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.h2.engine.SessionLocal;
import org.h2.jdbc.JdbcConnection;
import org.h2.mvstore.MVStore;

/**
 * Group commit for the embedded H2 file store: a transaction that wrote returns only once its changes are
 * in the file, and one file write covers every transaction that committed before it started.
 *
 * <p>H2 keeps committed changes in memory and writes them to its file in the background (its
 * {@code WRITE_DELAY}, about 500 ms), so a {@code kill -9} loses the last half second of answered
 * attestations. H2's own remedy, {@code WRITE_DELAY=0}, writes one chunk per committed transaction; with
 * two transactions per attestation that cost this machine close to half of its attestation throughput
 * (docs/performance.md). Here instead, a writer waits for the next store write that starts after its
 * commit: writers queue on one lock, the first one writes the store for all that committed meanwhile, and
 * those behind it find their changes already written and return. Under load a write covers the commits of
 * every concurrent attestation; unloaded it costs one write per transaction, as {@code WRITE_DELAY=0} did.
 *
 * <p>Written means handed to the operating system, not {@code fsync}ed: a process kill loses nothing
 * answered, a power loss or OS crash may (docs/reliability.md, "Fault suite"). Uses H2's engine classes
 * ({@link SessionLocal}, {@link MVStore}), so it is tied to the H2 version of this build; {@code
 * EmbeddedStoreDurabilityTest} kills a writing process and fails if an acknowledged commit is missing.
 */
final class EmbeddedGroupCommit {
    private final MVStore store;
    private final ReentrantLock writing = new ReentrantLock();
    /** Store writes started / completed by {@link #awaitWritten}; a write's number is its start count. */
    private final AtomicLong started = new AtomicLong();
    private volatile long completed;

    private EmbeddedGroupCommit(MVStore store) {
        this.store = store;
    }

    /** The group commit of the embedded database {@code c} belongs to. */
    static EmbeddedGroupCommit of(Connection c) throws SQLException {
        return new EmbeddedGroupCommit(session(c).getDatabase().getStore().getMvStore());
    }

    /** Whether the open transaction on {@code c} changed anything (asked before its commit). */
    static boolean hasChanges(Connection c) throws SQLException {
        return session(c).hasPendingTransaction();
    }

    private static SessionLocal session(Connection c) throws SQLException {
        return (SessionLocal) c.unwrap(JdbcConnection.class).getSession();
    }

    /**
     * Returns once every change committed before this call is written to the file. Call after the commit,
     * with the connection already given back to the pool.
     */
    void awaitWritten() {
        // A store write that starts after this read starts after the caller's commit, so it covers it.
        long needed = started.get() + 1;
        writing.lock();
        try {
            if (completed >= needed) {
                return; // a write that started after the commit has completed while this one queued
            }
            long number = started.incrementAndGet();
            // MVStore.commit writes all unsaved changes (or returns at once when another thread's store
            // operation, H2's background writer included, started after it was called and so covers them).
            store.commit();
            completed = number;
        } finally {
            writing.unlock();
        }
    }
}
