package dev.attestmesh.quote.collateral;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where collateral caches announce changed items and where their owner asks them to look for newer
 * ones. Listeners run one at a time on a dedicated daemon thread, never on the thread that fetched:
 * a listener re-judges evidence through the same caches, which must not wait on their own load.
 * Thread-safe.
 */
public final class CollateralChanges {
    private static final Logger LOG = LoggerFactory.getLogger(CollateralChanges.class);
    private final List<Consumer<CollateralChange>> listeners = new CopyOnWriteArrayList<>();
    private final List<Runnable> refreshers = new CopyOnWriteArrayList<>();
    private final ExecutorService dispatch = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "attestmesh-collateral-changes");
        t.setDaemon(true);
        return t;
    });

    /** Calls {@code listener} for every change announced from now on. */
    public void subscribe(Consumer<CollateralChange> listener) {
        listeners.add(listener);
    }

    /** Announces a change to every listener, asynchronously. */
    public void publish(CollateralChange change) {
        LOG.info("collateral changed: {}", change.item());
        dispatch.execute(() -> listeners.forEach(l -> {
            try {
                l.accept(change);
            } catch (RuntimeException e) {
                LOG.warn("a collateral change listener failed on '{}': {}", change.item(), e.toString());
            }
        }));
    }

    /** Registers a cache's "fetch every item I hold again" action, run by {@link #refresh()}. */
    public void addRefresher(Runnable refresher) {
        refreshers.add(refresher);
    }

    /**
     * Asks every registered cache to fetch the items it holds again, announcing those that changed. Run
     * by the owner on a schedule, so a TCB recovery is noticed before the held items' nextUpdate.
     */
    public void refresh() {
        refreshers.forEach(Runnable::run);
    }

    /** Waits (bounded) until the changes announced so far were delivered: for tests and orderly shutdown. */
    public boolean awaitDelivered(long timeout, TimeUnit unit) throws InterruptedException {
        var done = new java.util.concurrent.CountDownLatch(1);
        dispatch.execute(done::countDown);
        return done.await(timeout, unit);
    }
}
