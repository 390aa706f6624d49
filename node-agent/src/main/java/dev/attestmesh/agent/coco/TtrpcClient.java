package dev.attestmesh.agent.coco;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.attestmesh.agent.coco.TtrpcException.Kind;
import dev.attestmesh.agent.coco.proto.Request;
import dev.attestmesh.agent.coco.proto.Response;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A unary ttrpc client over a Unix domain socket, written from containerd/ttrpc's PROTOCOL.md with the JDK's
 * own {@code SocketChannel} and {@code UnixDomainSocketAddress} (no native library). Each call opens a
 * connection, sends one Request frame on a fresh odd stream id, and reads exactly one Response frame for
 * that stream within the deadline; anything else (a Data frame, another stream, more than 4 MiB, a
 * truncated frame, a non-OK status) ends the call with a typed {@link TtrpcException} and the connection
 * is closed. Calls are rare (one per attestation), so a connection per call keeps no state between them.
 */
public final class TtrpcClient {
    private final Path socket;
    private final AtomicInteger nextStreamId = new AtomicInteger(1);

    public TtrpcClient(Path socket) {
        this.socket = Objects.requireNonNull(socket, "socket");
    }

    public Path socket() {
        return socket;
    }

    /**
     * Calls {@code service/method} with {@code payload} (the method's serialized request message).
     *
     * @return the Response's payload (the method's serialized response message)
     * @throws TtrpcException for every failure, by {@link Kind}
     */
    public byte[] call(String service, String method, byte[] payload, Duration timeout) throws TtrpcException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int streamId = nextStreamId.getAndAdd(2) & 0x7fffffff | 1;
        byte[] request = new TtrpcFrame(streamId, TtrpcFrame.REQUEST, 0, Request.newBuilder()
                .setService(service).setMethod(method).setPayload(ByteString.copyFrom(payload))
                .setTimeoutNano(timeout.toNanos()).build().toByteArray()).encode();
        if (!Files.exists(socket)) {
            throw new TtrpcException(Kind.CONNECT, "no socket at " + socket + ": is the attestation-agent running, "
                    + "and is its socket mounted into this container?");
        }
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            try {
                ch.connect(UnixDomainSocketAddress.of(socket));
            } catch (IOException e) {
                throw new TtrpcException(Kind.CONNECT, "cannot connect to " + socket + " ("
                        + e.getClass().getSimpleName() + ": " + e.getMessage() + ")", e);
            }
            ch.configureBlocking(false);
            try (Selector selector = Selector.open()) {
                write(ch, selector, ByteBuffer.wrap(request), deadline);
                byte[] header = read(ch, selector, TtrpcFrame.HEADER_LENGTH, deadline, "frame header");
                TtrpcFrame.Header h = TtrpcFrame.decodeHeader(header);
                checkHeader(h, streamId);
                byte[] data = read(ch, selector, h.length(), deadline, "frame data");
                return responsePayload(data);
            }
        } catch (IOException e) {
            throw new TtrpcException(Kind.IO, "ttrpc call to " + socket + " failed: " + e.getClass().getSimpleName()
                    + ": " + e.getMessage(), e);
        }
    }

    /**
     * Checks that a header read by a unary client is the Response for its stream: type 2, no flags (none are
     * defined for responses), the stream it opened.
     */
    static void checkHeader(TtrpcFrame.Header h, int streamId) throws TtrpcException {
        if (h.type() != TtrpcFrame.RESPONSE) {
            throw new TtrpcException(Kind.WRONG_TYPE, "ttrpc frame of type " + h.type() + " arrived for a unary "
                    + "call; only a Response (type 2) is expected");
        }
        if (h.streamId() != streamId) {
            throw new TtrpcException(Kind.WRONG_STREAM, "ttrpc response for stream "
                    + Integer.toUnsignedString(h.streamId()) + " arrived; this call opened stream " + streamId);
        }
        if (h.flags() != 0) {
            throw new TtrpcException(Kind.WRONG_TYPE, "ttrpc response carries flags 0x"
                    + Integer.toHexString(h.flags()) + "; responses define none");
        }
    }

    /**
     * The payload of a ttrpc Response message, after its status said OK.
     *
     * @throws TtrpcException {@link Kind#MALFORMED} when {@code data} is not a Response, {@link Kind#STATUS}
     *     with the server's code and message when the status is not OK
     */
    public static byte[] responsePayload(byte[] data) throws TtrpcException {
        Response response;
        try {
            response = Response.parseFrom(data);
        } catch (InvalidProtocolBufferException e) {
            throw new TtrpcException(Kind.MALFORMED, "ttrpc response is not a Response message: " + e.getMessage(),
                    e);
        }
        if (response.hasStatus() && response.getStatus().getCode() != 0) {
            throw new TtrpcException(Kind.STATUS, "the server answered status " + response.getStatus().getCode()
                    + " (" + codeName(response.getStatus().getCode()) + "): "
                    + printable(response.getStatus().getMessage(), 300));
        }
        return response.getPayload().toByteArray();
    }

    private static void write(SocketChannel ch, Selector selector, ByteBuffer buf, long deadline)
            throws IOException, TtrpcException {
        ch.register(selector, SelectionKey.OP_WRITE);
        while (buf.hasRemaining()) {
            if (ch.write(buf) == 0) {
                await(selector, deadline, "sending the request");
            }
        }
    }

    private static byte[] read(SocketChannel ch, Selector selector, int n, long deadline, String what)
            throws IOException, TtrpcException {
        ByteBuffer buf = ByteBuffer.allocate(n);
        ch.register(selector, SelectionKey.OP_READ);
        while (buf.hasRemaining()) {
            int r = ch.read(buf);
            if (r < 0) {
                throw new TtrpcException(Kind.TRUNCATED, "the server closed the connection after " + buf.position()
                        + " of " + n + " bytes of the " + what);
            }
            if (r == 0) {
                await(selector, deadline, "waiting for the " + what);
            }
        }
        return buf.array();
    }

    private static void await(Selector selector, long deadline, String what) throws IOException, TtrpcException {
        long left = deadline - System.nanoTime();
        if (left <= 0 || selector.select(Math.max(1, left / 1_000_000)) == 0 && System.nanoTime() >= deadline) {
            throw new TtrpcException(Kind.TIMEOUT, "no answer from the attestation-agent in time (" + what + ")");
        }
        selector.selectedKeys().clear();
    }

    private static String codeName(int code) {
        return code >= 0 && code <= 16 ? io.grpc.Status.Code.values()[code].name() : "unknown code";
    }

    /** Untrusted text from the peer, bounded and without control characters. */
    static String printable(String s, int max) {
        StringBuilder b = new StringBuilder();
        s.codePoints().limit(max).forEach(c -> b.appendCodePoint(Character.isISOControl(c) ? '?' : c));
        return s.codePointCount(0, s.length()) > max ? b + "..." : b.toString();
    }
}
