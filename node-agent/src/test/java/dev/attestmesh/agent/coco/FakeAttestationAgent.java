package dev.attestmesh.agent.coco;

import com.google.protobuf.ByteString;
import dev.attestmesh.agent.coco.proto.GetEvidenceRequest;
import dev.attestmesh.agent.coco.proto.GetEvidenceResponse;
import dev.attestmesh.agent.coco.proto.GetTeeTypeResponse;
import dev.attestmesh.agent.coco.proto.Request;
import dev.attestmesh.agent.coco.proto.Response;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * A test attestation-agent: a ttrpc server on a real Unix socket, reading frames and the
 * attestation_agent messages with the classes generated from the same .proto files. By default it answers
 * {@code GetEvidence} with the configured evidence document; a {@link Behaviour} replaces the answer with
 * raw bytes (malformed frames), a delay, or a close. It records every request it read.
 */
final class FakeAttestationAgent implements AutoCloseable {
    /** What to send back for a parsed request and its stream id; null = close without answering. */
    interface Behaviour extends Function<Received, byte[]> {}

    record Received(int streamId, int type, int flags, Request request) {
        byte[] runtimeData() {
            try {
                return GetEvidenceRequest.parseFrom(request.getPayload()).getRuntimeData().toByteArray();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    final Path socket;
    final List<Received> received = new CopyOnWriteArrayList<>();
    private final ServerSocketChannel server;
    private final Thread thread;
    private volatile Behaviour behaviour;

    private FakeAttestationAgent(Path socket, Behaviour behaviour) throws IOException {
        this.socket = socket;
        this.behaviour = behaviour;
        this.server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        this.thread = Thread.ofPlatform().daemon().name("fake-attestation-agent").start(this::serve);
    }

    /** Answers GetEvidence with {@code evidence} and GetTeeType with "tdx". */
    static FakeAttestationAgent answering(Path dir, byte[] evidence) throws IOException {
        return new FakeAttestationAgent(dir.resolve("aa.sock"), r -> response(r.streamId(), switch (
                r.request().getMethod()) {
            case "GetEvidence" -> Response.newBuilder().setPayload(GetEvidenceResponse.newBuilder()
                    .setEvidence(ByteString.copyFrom(evidence)).build().toByteString()).build();
            case "GetTeeType" -> Response.newBuilder().setPayload(GetTeeTypeResponse.newBuilder().setTee("tdx")
                    .build().toByteString()).build();
            default -> Response.newBuilder().setStatus(com.google.rpc.Status.newBuilder().setCode(12)
                    .setMessage("unimplemented")).build();
        }));
    }

    static FakeAttestationAgent behaving(Path dir, Behaviour behaviour) throws IOException {
        return new FakeAttestationAgent(dir.resolve("aa.sock"), behaviour);
    }

    static byte[] response(int streamId, Response r) {
        return frame(r.toByteArray().length, streamId, 2, 0, r.toByteArray());
    }

    /** A frame with any header values (for malformed ones). */
    static byte[] frame(int length, int streamId, int type, int flags, byte[] data) {
        return ByteBuffer.allocate(10 + data.length).putInt(length).putInt(streamId).put((byte) type)
                .put((byte) flags).put(data).array();
    }

    private void serve() {
        while (server.isOpen()) {
            try (SocketChannel ch = server.accept()) {
                InputStream in = Channels.newInputStream(ch);
                OutputStream out = Channels.newOutputStream(ch);
                byte[] header = in.readNBytes(10);
                if (header.length < 10) {
                    continue;
                }
                ByteBuffer h = ByteBuffer.wrap(header);
                int length = h.getInt();
                int stream = h.getInt();
                int type = h.get() & 0xff;
                int flags = h.get() & 0xff;
                Request request = Request.parseFrom(in.readNBytes(length));
                Received r = new Received(stream, type, flags, request);
                received.add(r);
                byte[] answer = behaviour.apply(r);
                if (answer != null) {
                    out.write(answer);
                    out.flush();
                }
            } catch (IOException e) {
                if (!server.isOpen()) {
                    return;
                }
            }
        }
    }

    @Override
    public void close() throws Exception {
        server.close();
        thread.join(5000);
        Files.deleteIfExists(socket);
    }
}
