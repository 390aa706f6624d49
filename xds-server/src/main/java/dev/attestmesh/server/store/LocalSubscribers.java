package dev.attestmesh.server.store;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The subscribers of one replica, told one at a time so one failing subscriber does not silence the rest. */
final class LocalSubscribers {
    private static final Logger LOG = LoggerFactory.getLogger(LocalSubscribers.class);
    private final List<ChangeNotifier.Listener> listeners = new CopyOnWriteArrayList<>();

    void add(ChangeNotifier.Listener l) {
        listeners.add(l);
    }

    void deliver(Change change, ChangeNotifier.Origin origin) {
        for (ChangeNotifier.Listener l : listeners) {
            try {
                l.onChange(change, origin);
            } catch (RuntimeException e) {
                LOG.error("reacting to change '{}' ({}) failed: {}", change.payload(), origin, e.toString(), e);
            }
        }
    }

    void resync() {
        for (Change.Topic t : Change.Topic.values()) {
            deliver(t, ChangeNotifier.Origin.OTHER_REPLICA);
        }
    }
}
