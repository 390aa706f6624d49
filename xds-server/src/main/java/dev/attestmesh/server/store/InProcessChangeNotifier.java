package dev.attestmesh.server.store;

/**
 * Change notification within one process, for the embedded H2 store (which only one process can
 * open): a publish reaches this process's subscribers, on the publishing thread, as
 * {@link ChangeNotifier.Origin#THIS_REPLICA}. There are no other replicas to tell.
 */
public final class InProcessChangeNotifier implements ChangeNotifier {
    private final LocalSubscribers subscribers = new LocalSubscribers();

    @Override
    public void publish(Change change) {
        subscribers.deliver(change, Origin.THIS_REPLICA);
    }

    @Override
    public void subscribe(Listener listener) {
        subscribers.add(listener);
    }

    @Override
    public void start() {
        // Nothing to listen to: every change in this store is made by this process and published here.
    }

    @Override
    public void close() {
        // Holds no resources.
    }
}
