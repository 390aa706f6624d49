package dev.attestmesh.server.lifecycle;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Knows which gRPC calls a server is running, so that a shutdown can treat the two kinds differently.
 *
 * <p>A request that expects one answer (unary or client-streaming: {@code Challenge}, {@code Attest}, ext_authz
 * {@code Check}, SDS {@code FetchSecrets}) is <em>in flight</em>: shutdown waits a bounded grace for it, so a node
 * that was attesting gets its certificate (or its refusal) rather than a reset. A stream that sends many answers
 * (ADS, SDS streams, {@code WatchRegistry}) never ends by itself: waiting for it is pointless, so shutdown
 * {@link #closeStreams ends it} with a status the peer acts on ({@code UNAVAILABLE}: Envoy and the authz replicas
 * reconnect, through the load balancer, to another control plane).
 *
 * <p>gRPC-java's own {@code Server.shutdownNow()} resets streams at the transport, which a client reads as
 * {@code CANCELLED} or {@code UNAVAILABLE} depending on timing; closing each stream here sends a real status
 * with a description. The same goes for a request still running when the grace is over: it is answered
 * {@code UNAVAILABLE}, which the node agent retries, rather than cut. A {@link ServerCall} is not thread-safe, so
 * the wrapper around each call serializes its writes and drops any the application makes after shutdown closed
 * it.
 *
 * <p>Cost per call: one small wrapper, a set insertion and removal, and uncontended locks on writes.
 *
 * <p>Install it as the server's outermost interceptor ({@code ServerBuilder.intercept}), so every service's
 * calls pass through it.
 */
public final class CallDrain implements ServerInterceptor {
    private static final Logger LOG = LoggerFactory.getLogger(CallDrain.class);

    private final Object idle = new Object(); // notified when the last in-flight request ends
    private final Set<ClosableCall<?, ?>> requests = ConcurrentHashMap.newKeySet();
    private final Set<ClosableCall<?, ?>> streams = ConcurrentHashMap.newKeySet();

    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
            ServerCallHandler<ReqT, RespT> next) {
        Set<ClosableCall<?, ?>> kind = call.getMethodDescriptor().getType().serverSendsOneMessage() ? requests : streams;
        ClosableCall<ReqT, RespT> tracked = new ClosableCall<>(call);
        kind.add(tracked);
        try {
            return new OnEnd<>(next.startCall(tracked, headers), () -> ended(kind, tracked));
        } catch (RuntimeException e) {
            ended(kind, tracked);
            throw e;
        }
    }

    /** Calls that expect one answer and have not ended yet. */
    public int inFlight() {
        return requests.size();
    }

    /** Streams that are open. */
    public int openStreams() {
        return streams.size();
    }

    /**
     * Waits until no call that expects one answer is running, or {@code grace} has passed.
     *
     * @return true when none is left
     */
    public boolean awaitInFlight(Duration grace) throws InterruptedException {
        long deadline = System.nanoTime() + grace.toNanos();
        synchronized (idle) {
            while (!requests.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(idle, left);
            }
            return true;
        }
    }

    /**
     * Ends every call still waiting for its answer with {@code status} (after the grace: a client told
     * {@code UNAVAILABLE} retries, one whose connection is cut may read {@code CANCELLED} and give up). Whatever the
     * handler answers later is dropped.
     *
     * @return how many calls this ended
     */
    public int endInFlight(Status status) {
        return closeAll(requests, status);
    }

    /**
     * Ends every open stream with {@code status}. A stream the application ends at the same moment is left to
     * the application; nothing it writes afterwards reaches the peer.
     *
     * @return how many streams this call ended
     */
    public int closeStreams(Status status) {
        return closeAll(streams, status);
    }

    private static int closeAll(Set<ClosableCall<?, ?>> calls, Status status) {
        int closed = 0;
        for (ClosableCall<?, ?> c : calls) {
            if (c.closeWith(status)) {
                closed++;
            }
        }
        return closed;
    }

    private void ended(Set<ClosableCall<?, ?>> kind, ClosableCall<?, ?> call) {
        kind.remove(call);
        if (kind == requests && requests.isEmpty()) {
            synchronized (idle) {
                idle.notifyAll();
            }
        }
    }

    /** Runs {@code end} once, when gRPC reports the call over (completed or cancelled). */
    private static final class OnEnd<ReqT> extends ForwardingServerCallListener.SimpleForwardingServerCallListener<ReqT> {
        private final AtomicBoolean ended = new AtomicBoolean();
        private final Runnable end;

        OnEnd(ServerCall.Listener<ReqT> delegate, Runnable end) {
            super(delegate);
            this.end = end;
        }

        @Override
        public void onComplete() {
            try {
                super.onComplete();
            } finally {
                ended();
            }
        }

        @Override
        public void onCancel() {
            try {
                super.onCancel();
            } finally {
                ended();
            }
        }

        private void ended() {
            if (ended.compareAndSet(false, true)) {
                end.run();
            }
        }
    }

    /** A call whose writes are serialized so that shutdown can close it from another thread. */
    private static final class ClosableCall<ReqT, RespT> extends ForwardingServerCall.SimpleForwardingServerCall<ReqT, RespT> {
        private boolean closed; // guarded by this

        ClosableCall(ServerCall<ReqT, RespT> delegate) {
            super(delegate);
        }

        @Override
        public synchronized void sendHeaders(Metadata headers) {
            if (!closed) {
                super.sendHeaders(headers);
            }
        }

        @Override
        public synchronized void sendMessage(RespT message) {
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

        synchronized boolean closeWith(Status status) {
            if (closed) {
                return false;
            }
            closed = true;
            try {
                super.close(status, new Metadata());
                return true;
            } catch (IllegalStateException e) {
                // the transport had already ended it (the peer went away)
                LOG.debug("stream {} was already over", getMethodDescriptor().getFullMethodName(), e);
                return false;
            }
        }
    }
}
