package dev.attestmesh.server.xds;

import dev.attestmesh.authz.NodeAuthzRecord;
import dev.attestmesh.registry.NodeState;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps every open xDS stream (ADS and SDS) answerable to the registry. The guard refuses a stream
 * whose caller presented no client certificate before any xDS code runs, remembers which node each
 * stream serves (bound by {@link AttestedStreamCallbacks} once the stream's first request passes its
 * checks), and closes a node's streams as soon as the node stops being entitled to them: revoked,
 * withdrawn (its identity no longer holds), removed, or served with a certificate the registry no
 * longer lists as the node's. The closed streams end with {@code PERMISSION_DENIED}. It tells its
 * {@link Streams} listener when a node's stream is bound (before the stream's first watch is created) and
 * once the last of a node's streams has ended, so the node's snapshot can be built or removed
 * (java-control-plane keeps a snapshot while a watch is open).
 *
 * <p>At shutdown the control plane's {@code CallDrain} ends every stream with {@code UNAVAILABLE}, so
 * proxies reconnect to another replica at once.
 */
public final class XdsStreamGuard implements ServerInterceptor {
    private static final Logger LOG = LoggerFactory.getLogger(XdsStreamGuard.class);
    private static final Context.Key<GuardedCall<?, ?>> CALL = Context.key("attestmesh-xds-guarded-call");

    private final Function<String, Optional<NodeAuthzRecord>> records;
    private final Streams streams;
    private final Map<String, Set<GuardedCall<?, ?>>> byNode = new ConcurrentHashMap<>();

    /** What the guard tells about the streams it keeps (the snapshot publisher). */
    public interface Streams {
        /**
         * A stream of {@code nodeId} passed its checks and is bound to the node; called on the stream's own
         * thread before its first request is answered, so a snapshot published here is what that request sees.
         */
        void bound(String nodeId);

        /**
         * The last stream of {@code nodeId} here has ended.
         *
         * @param closedByGuard whether the guard closed it (the node stopped being entitled to it)
         */
        void allEnded(String nodeId, boolean closedByGuard);
    }

    /**
     * @param records the registry's view of a node by id
     * @param streams told when a node's stream is bound and when its last stream has ended
     */
    public XdsStreamGuard(Function<String, Optional<NodeAuthzRecord>> records, Streams streams) {
        this.records = records;
        this.streams = streams;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        Optional<String> leaf = leafSha256(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
        if (leaf.isEmpty()) {
            call.close(Status.UNAUTHENTICATED.withDescription(
                    "xDS requires the client certificate issued by AttestMesh to this node"), new Metadata());
            return new ServerCall.Listener<>() {};
        }
        GuardedCall<Q, R> guarded = new GuardedCall<>(call, leaf.get());
        ServerCall.Listener<Q> listener = Contexts.interceptCall(Context.current().withValue(CALL, guarded), guarded,
                headers, next);
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
            @Override
            public void onComplete() {
                try {
                    super.onComplete();
                } finally {
                    ended(guarded);
                }
            }

            @Override
            public void onCancel() {
                try {
                    super.onCancel();
                } finally {
                    ended(guarded);
                }
            }
        };
    }

    /**
     * Binds the current call (if it passed through a guard) to {@code nodeId}; called once the stream's
     * first request passed the attestation checks. Re-checks the node at once, so a revocation between
     * the check and the binding still closes the stream.
     */
    static void bindCurrent(String nodeId) {
        GuardedCall<?, ?> call = CALL.get();
        if (call != null && call.nodeId == null) {
            call.guard(nodeId);
        }
    }

    /** Closes {@code nodeId}'s streams if the node is no longer entitled to them. */
    public void nodeChanged(String nodeId) {
        Set<GuardedCall<?, ?>> calls = byNode.get(nodeId);
        if (calls == null || calls.isEmpty()) {
            return;
        }
        Optional<NodeAuthzRecord> record = records.apply(nodeId);
        for (GuardedCall<?, ?> c : List.copyOf(calls)) {
            String why = refusal(nodeId, record, c.leafSha256);
            if (why != null) {
                LOG.info("closing an xDS stream of node {}: {}", nodeId, why);
                c.closeOnce(Status.PERMISSION_DENIED.withDescription(why));
            }
        }
    }

    /** Re-checks every node with an open stream (after a change that may concern any node). */
    public void allChanged() {
        for (String nodeId : List.copyOf(byNode.keySet())) {
            nodeChanged(nodeId);
        }
    }

    /** Streams currently bound to {@code nodeId} (for tests and metrics). */
    public int openStreams(String nodeId) {
        Set<GuardedCall<?, ?>> calls = byNode.get(nodeId);
        return calls == null ? 0 : calls.size();
    }

    private static String refusal(String nodeId, Optional<NodeAuthzRecord> record, String leafSha256) {
        if (record.isEmpty()) {
            return "node '" + nodeId + "' is no longer registered";
        }
        NodeAuthzRecord r = record.get();
        if (r.state() != NodeState.ATTESTED) {
            return "node '" + nodeId + "' is " + r.state();
        }
        if (!r.certificateSha256Hex().contains(leafSha256)) {
            return "the stream's client certificate is no longer a current certificate of node '" + nodeId + "'";
        }
        return null;
    }

    private void ended(GuardedCall<?, ?> call) {
        String nodeId = call.nodeId;
        if (nodeId == null) {
            return;
        }
        boolean[] last = {false};
        byNode.computeIfPresent(nodeId, (k, set) -> {
            set.remove(call);
            last[0] = set.isEmpty();
            return set.isEmpty() ? null : set;
        });
        if (last[0]) {
            streams.allEnded(nodeId, call.closedByGuard);
        }
    }

    private static Optional<String> leafSha256(SSLSession session) {
        if (session == null) {
            return Optional.empty();
        }
        try {
            Certificate[] certs = session.getPeerCertificates();
            if (certs.length == 0 || !(certs[0] instanceof X509Certificate leaf)) {
                return Optional.empty();
            }
            return Optional.of(AttestedStreamCallbacks.sha256Hex(leaf));
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
    }

    /**
     * A call that the guard may close from another thread: every outbound operation is serialised with
     * {@link #closeOnce}, and after the close, messages and a second close are dropped (the xDS server
     * still tries to send and complete; gRPC forbids both on a closed call).
     */
    private final class GuardedCall<Q, R> extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
        private final String leafSha256;
        private volatile String nodeId;
        private volatile boolean closedByGuard;
        private boolean closed;

        GuardedCall(ServerCall<Q, R> delegate, String leafSha256) {
            super(delegate);
            this.leafSha256 = leafSha256;
        }

        void guard(String node) {
            nodeId = node;
            byNode.computeIfAbsent(node, k -> ConcurrentHashMap.newKeySet()).add(this);
            streams.bound(node);
            nodeChanged(node);
        }

        synchronized void closeOnce(Status status) {
            if (!closed) {
                closed = true;
                closedByGuard = true;
                super.close(status, new Metadata());
            }
        }

        @Override
        public synchronized void sendHeaders(Metadata headers) {
            if (!closed) {
                super.sendHeaders(headers);
            }
        }

        @Override
        public synchronized void sendMessage(R message) {
            if (!closed) {
                super.sendMessage(message);
            }
        }

        @Override
        public synchronized void close(Status status, Metadata trailers) {
            if (!closed) {
                closed = true;
                super.close(status, trailers);
            }
        }

        @Override
        public synchronized boolean isReady() {
            return !closed && super.isReady();
        }

        @Override
        public synchronized void request(int numMessages) {
            if (!closed) {
                super.request(numMessages);
            }
        }
    }
}
