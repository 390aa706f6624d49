package dev.attestmesh.server.store;

import java.time.Duration;
import java.util.Optional;

/**
 * Tells every replica sharing a store that some of its state changed, so each reloads that state from
 * the store and fires its own listeners (ext_authz caches, SDS snapshots).
 *
 * <p>Guarantees:
 * <ul>
 *   <li>{@link #publish} is called after the change is committed; subscribers of this replica are told
 *       at once, on the publishing thread, with {@link Origin#THIS_REPLICA}; subscribers of every other
 *       replica are told once, with {@link Origin#OTHER_REPLICA}.</li>
 *   <li>Other replicas' changes arrive in commit order on one notifier thread per replica.</li>
 *   <li>A notifier that listens to other replicas and lost its connection reconnects, then delivers
 *       every {@link Change.Topic} as {@link Origin#OTHER_REPLICA}, so what it missed meanwhile is
 *       reloaded. It does the same once after {@link #start()}, which closes the gap between loading
 *       state and listening.</li>
 *   <li>A subscriber that throws is logged and does not stop delivery to others.</li>
 * </ul>
 * Implementations: {@link InProcessChangeNotifier} (embedded H2, one process) and
 * {@link PostgresChangeNotifier} (PostgreSQL {@code LISTEN/NOTIFY}).
 */
public interface ChangeNotifier extends AutoCloseable {
    /** Where a change was made. */
    enum Origin {
        /** By this replica, which has already applied it in memory. */
        THIS_REPLICA,
        /** By another replica (or unknown, after a reconnect): reload it from the store. */
        OTHER_REPLICA
    }

    /** Receives changes. */
    @FunctionalInterface
    interface Listener {
        void onChange(Change change, Origin origin);
    }

    /** Announces a committed change to this and every other replica. Never throws for delivery problems. */
    void publish(Change change);

    /** Registers {@code listener} for every later change. */
    void subscribe(Listener listener);

    /** Begins receiving other replicas' changes; call once every subscriber is registered. */
    void start();

    /**
     * How long this replica has been unable to hear other replicas' changes, counted from the last moment its
     * listening connection was known to work; empty while it hears them (and always for a notifier with no other
     * replicas to hear). What this replica holds in memory may be that much behind the store.
     */
    default Optional<Duration> deafFor() {
        return Optional.empty();
    }

    /** Stops listening and releases connections; later publishes reach only this replica. */
    @Override
    void close();

    /** The notifier for {@code db}: LISTEN/NOTIFY on PostgreSQL, in-process otherwise. */
    static ChangeNotifier forDatabase(Database db) {
        return db.vendor() == Database.Vendor.POSTGRESQL ? new PostgresChangeNotifier(db) : new InProcessChangeNotifier();
    }
}
