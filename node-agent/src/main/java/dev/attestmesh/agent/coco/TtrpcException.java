package dev.attestmesh.agent.coco;

import java.util.Objects;

/**
 * A ttrpc call that failed, with the {@link Kind} of failure so that callers (and tests) can tell a peer
 * that broke the protocol from one that answered with an error or did not answer in time. Messages name
 * what was wrong with the frame; they never carry the payload (evidence is not secret, but frames from a
 * misbehaving peer are untrusted text).
 */
public final class TtrpcException extends Exception {
    /** What went wrong. */
    public enum Kind {
        /** The socket could not be opened (missing, not a socket, permission). */
        CONNECT,
        /** A frame announced more than the 4 MiB the protocol allows (or its reserved first byte was set). */
        OVERSIZED,
        /** The peer closed the connection before a whole header or payload arrived. */
        TRUNCATED,
        /** A frame of a type other than Response arrived for a unary call, or a response carried flags. */
        WRONG_TYPE,
        /** A response arrived on a stream id this client did not open. */
        WRONG_STREAM,
        /** The response's payload is not a ttrpc Response, or its method payload is not the expected message. */
        MALFORMED,
        /** The server answered with a non-OK google.rpc.Status. */
        STATUS,
        /** No complete response within the deadline. */
        TIMEOUT,
        /** Reading or writing the socket failed. */
        IO
    }

    private final Kind kind;

    public TtrpcException(Kind kind, String message) {
        this(kind, message, null);
    }

    public TtrpcException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = Objects.requireNonNull(kind, "kind");
    }

    public Kind kind() {
        return kind;
    }
}
