package dev.attestmesh.server.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Change notification between replicas sharing one PostgreSQL database, with {@code LISTEN/NOTIFY} on
 * channel {@value #CHANNEL}; payloads are {@link Change#payload()}.
 *
 * <p>One dedicated connection (outside the pool) listens on its own thread; another, also dedicated,
 * sends. A notification sent by this replica's sending connection is recognised by its backend process
 * id and not delivered twice (its subscribers were told at publish). Should the sending connection be
 * replaced in between, the echo arrives as {@link ChangeNotifier.Origin#OTHER_REPLICA}, which only
 * costs a redundant reload. The listener checks its connection every {@value #LIVENESS_MILLIS} ms and
 * reconnects with back-off when it is lost, then resynchronises (see {@link ChangeNotifier}). While it is
 * lost, {@link #deafFor()} counts from the last moment the connection was proven to work, so a bound on it
 * (the embedded ext_authz's {@code attestmesh.database.max-staleness}) errs on the early side.
 */
public final class PostgresChangeNotifier implements ChangeNotifier {
    /** The notification channel. */
    public static final String CHANNEL = "attestmesh_changes";
    private static final Logger LOG = LoggerFactory.getLogger(PostgresChangeNotifier.class);
    private static final int POLL_MILLIS = 250;
    private static final long LIVENESS_MILLIS = 5_000;
    private static final long MAX_BACKOFF_MILLIS = 5_000;

    private final Database db;
    private final LocalSubscribers subscribers = new LocalSubscribers();
    private final Object sendLock = new Object();
    private final Thread listener;
    private volatile boolean closed;
    private volatile int senderPid = -1;
    private volatile int listenerPid = -1;
    private volatile long connects;
    /** True while the listener is connected and resynchronised; {@link #deafSinceNanos} counts otherwise. */
    private volatile boolean hearing;
    /** Since when the listener has not heard (before the first connect: since this notifier was made). */
    private volatile long deafSinceNanos = System.nanoTime();
    /**
     * The last moment the listening connection was proven to work: it delivered notifications, or passed its
     * liveness check. A poll that returns nothing proves nothing (a dropped connection returns nothing too).
     */
    private volatile long lastHeardNanos = System.nanoTime();
    private Connection sender; // guarded by sendLock

    public PostgresChangeNotifier(Database db) {
        if (db.vendor() != Database.Vendor.POSTGRESQL) {
            throw new IllegalArgumentException("LISTEN/NOTIFY needs a PostgreSQL store, not " + db.description());
        }
        this.db = db;
        this.listener = Thread.ofPlatform().daemon().name("attestmesh-change-listener").unstarted(this::listen);
    }

    @Override
    public void publish(Change change) {
        subscribers.deliver(change, Origin.THIS_REPLICA);
        synchronized (sendLock) {
            SQLException failure = null;
            // A second attempt on a fresh connection covers a sender connection that broke while idle.
            for (int attempt = 0; attempt < 2 && !closed; attempt++) {
                try {
                    if (sender == null) {
                        sender = db.openDedicatedConnection();
                        sender.setAutoCommit(true);
                        senderPid = sender.unwrap(PGConnection.class).getBackendPID();
                    }
                    try (PreparedStatement ps = sender.prepareStatement("SELECT pg_notify(?, ?)")) {
                        ps.setString(1, CHANNEL);
                        ps.setString(2, change.payload());
                        ps.execute();
                    }
                    return;
                } catch (SQLException e) {
                    failure = e;
                    closeQuietly(sender);
                    sender = null;
                    senderPid = -1;
                }
            }
            if (failure != null) {
                // The change is committed; other replicas pick it up when their listener next resynchronises.
                LOG.error("could not notify other replicas of change '{}' on {}: {}", change.payload(),
                        db.description(), failure.getMessage());
            }
        }
    }

    @Override
    public void subscribe(Listener l) {
        subscribers.add(l);
    }

    @Override
    public void start() {
        listener.start();
    }

    /** Backend process id of the listening connection (for tests and diagnostics); empty when not connected. */
    public Optional<Integer> listenerBackendPid() {
        int pid = listenerPid;
        return pid < 0 ? Optional.empty() : Optional.of(pid);
    }

    /** How many times the listener has connected (1 after start, more after reconnects). */
    public long connects() {
        return connects;
    }

    @Override
    public Optional<Duration> deafFor() {
        return hearing ? Optional.empty() : Optional.of(Duration.ofNanos(System.nanoTime() - deafSinceNanos));
    }

    @Override
    public void close() {
        closed = true;
        try {
            listener.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (sendLock) {
            closeQuietly(sender);
            sender = null;
        }
    }

    private void listen() {
        long backoff = 100;
        while (!closed) {
            try (Connection c = db.openDedicatedConnection()) {
                c.setAutoCommit(true);
                try (Statement s = c.createStatement()) {
                    s.execute("LISTEN " + CHANNEL);
                }
                PGConnection pg = c.unwrap(PGConnection.class);
                listenerPid = pg.getBackendPID();
                connects++;
                backoff = 100;
                LOG.debug("listening for store changes on {} (backend {})", db.description(), listenerPid);
                subscribers.resync();
                lastHeardNanos = System.nanoTime();
                hearing = true;
                long lastCheck = System.nanoTime();
                while (!closed) {
                    long polled = System.nanoTime();
                    PGNotification[] received = pg.getNotifications(POLL_MILLIS);
                    if (received != null && received.length > 0) {
                        lastHeardNanos = polled;
                    }
                    if (received != null) {
                        for (PGNotification n : received) {
                            deliverRemote(n);
                        }
                    }
                    if (System.nanoTime() - lastCheck > TimeUnit.MILLISECONDS.toNanos(LIVENESS_MILLIS)) {
                        // A silently dropped TCP connection never errors on a read with a timeout.
                        long asked = System.nanoTime();
                        if (!c.isValid(5)) {
                            throw new SQLException("the listening connection no longer answers");
                        }
                        lastHeardNanos = asked;
                        lastCheck = System.nanoTime();
                    }
                }
            } catch (SQLException | RuntimeException e) {
                if (hearing) {
                    // Deaf since the last poll that returned: notifications after it may have been missed.
                    deafSinceNanos = lastHeardNanos;
                    hearing = false;
                }
                listenerPid = -1;
                if (closed) {
                    break;
                }
                LOG.warn("lost the change-notification connection to {} ({}); reconnecting in {} ms",
                        db.description(), e.getMessage(), backoff);
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return;
                }
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
            }
        }
        listenerPid = -1;
    }

    private void deliverRemote(PGNotification n) {
        if (!CHANNEL.equals(n.getName()) || n.getPID() == senderPid) {
            return;
        }
        Optional<Change> change = Change.parse(n.getParameter());
        if (change.isEmpty()) {
            LOG.warn("ignoring unknown change notification '{}' (sent by a newer replica?)", n.getParameter());
            return;
        }
        subscribers.deliver(change.get(), Origin.OTHER_REPLICA);
    }

    private static void closeQuietly(Connection c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (SQLException e) {
            // Already broken; nothing more to release.
        }
    }
}
