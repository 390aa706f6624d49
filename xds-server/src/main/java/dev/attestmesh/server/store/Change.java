package dev.attestmesh.server.store;

import java.util.Optional;

/**
 * What changed in the shared store: the payload of a change notification between replicas
 * ({@link ChangeNotifier}). A change says only where to look; receivers reload the state from the store,
 * so a notification carries no data and cannot smuggle any.
 */
public sealed interface Change permits Change.Node, Change.Topic {
    /** The notification payload, e.g. {@code node:payments} or {@code policies}. */
    String payload();

    /** Reads a payload; empty when it names nothing this version knows (a newer replica's change). */
    static Optional<Change> parse(String payload) {
        if (payload.startsWith(Node.PREFIX) && payload.length() > Node.PREFIX.length()) {
            return Optional.of(new Node(payload.substring(Node.PREFIX.length())));
        }
        for (Topic t : Topic.values()) {
            if (t.payload.equals(payload)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    /** One node's registry record changed (attested, renewed, revoked). */
    record Node(String nodeId) implements Change {
        static final String PREFIX = "node:";

        public Node {
            if (nodeId.isEmpty()) {
                throw new IllegalArgumentException("a node change needs a node id");
            }
        }

        @Override
        public String payload() {
            return PREFIX + nodeId;
        }
    }

    /** A whole part of the state changed. */
    enum Topic implements Change {
        /** The policy set (any policy added, changed or removed). */
        POLICIES("policies"),
        /** The registration set (any registration added, changed or removed). */
        REGISTRATIONS("registrations"),
        /** The sealed mesh CA (rotation). */
        CA("ca"),
        /** The revocation list. */
        REVOCATIONS("revocations"),
        /** The declarative mesh configuration. */
        MESH("mesh"),
        /**
         * Any node may have changed. Sent by a notifier to its own replica after it (re)connects, since
         * notifications sent while it was not listening are lost.
         */
        NODES("nodes"),
        /** The operator secrets (a value, rule, import or export changed). */
        SECRETS("secrets");

        private final String payload;

        Topic(String payload) {
            this.payload = payload;
        }

        @Override
        public String payload() {
            return payload;
        }
    }
}
