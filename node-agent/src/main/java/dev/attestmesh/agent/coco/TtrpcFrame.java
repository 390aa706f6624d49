package dev.attestmesh.agent.coco;

import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * One ttrpc message frame (containerd/ttrpc PROTOCOL.md): a 10-byte header (data length and stream id as
 * big-endian unsigned 32-bit integers, a message type byte, a flags byte) followed by the data. The data
 * length is at most 4 MiB; since that is below 16 MiB the first header byte is always zero, and a frame
 * that sets it is refused like an oversized one. Client-initiated streams have odd ids.
 *
 * @param streamId the stream id (an unsigned 32-bit value held in an int)
 * @param type {@link #REQUEST}, {@link #RESPONSE} or {@link #DATA} (others are carried, and refused by the client)
 * @param flags the message flags
 * @param data the frame's data: a protobuf ttrpc Request or Response
 */
public record TtrpcFrame(int streamId, int type, int flags, byte[] data) {
    public static final int HEADER_LENGTH = 10;
    /** The protocol's maximum data length. */
    public static final int MAX_DATA_LENGTH = 4 << 20;
    public static final int REQUEST = 1;
    public static final int RESPONSE = 2;
    public static final int DATA = 3;

    public TtrpcFrame {
        Objects.requireNonNull(data, "data");
        if (type < 0 || type > 0xff || flags < 0 || flags > 0xff) {
            throw new IllegalArgumentException("type and flags are single bytes");
        }
        if (data.length > MAX_DATA_LENGTH) {
            throw new IllegalArgumentException("ttrpc frame data is " + data.length + " bytes; at most "
                    + MAX_DATA_LENGTH);
        }
        data = data.clone();
    }

    @Override
    public byte[] data() {
        return data.clone();
    }

    /** The frame as it goes on the wire: header then data. */
    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(HEADER_LENGTH + data.length);
        b.putInt(data.length).putInt(streamId).put((byte) type).put((byte) flags).put(data);
        return b.array();
    }

    /** A decoded header: what the data that follows must be. */
    public record Header(int length, int streamId, int type, int flags) {}

    /**
     * Decodes a 10-byte header, refusing a data length over {@link #MAX_DATA_LENGTH} before anything is
     * allocated for it.
     *
     * @throws TtrpcException {@link TtrpcException.Kind#TRUNCATED} when fewer than 10 bytes are given,
     *     {@link TtrpcException.Kind#OVERSIZED} when the length is too large
     */
    public static Header decodeHeader(byte[] header) throws TtrpcException {
        if (header.length < HEADER_LENGTH) {
            throw new TtrpcException(TtrpcException.Kind.TRUNCATED, "ttrpc frame header is " + header.length
                    + " bytes; a header is " + HEADER_LENGTH);
        }
        ByteBuffer b = ByteBuffer.wrap(header, 0, HEADER_LENGTH);
        long length = Integer.toUnsignedLong(b.getInt());
        if (length > MAX_DATA_LENGTH) {
            throw new TtrpcException(TtrpcException.Kind.OVERSIZED, "ttrpc frame announces " + length
                    + " bytes of data; the protocol allows at most " + MAX_DATA_LENGTH);
        }
        int streamId = b.getInt();
        int type = b.get() & 0xff;
        int flags = b.get() & 0xff;
        return new Header((int) length, streamId, type, flags);
    }
}
