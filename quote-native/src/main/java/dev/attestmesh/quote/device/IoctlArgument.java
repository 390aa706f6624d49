package dev.attestmesh.quote.device;

import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The argument of one {@code ioctl(2)} call, described in Java so that a test can check it byte by
 * byte: the bytes of the argument struct, plus buffers that the struct points to. Each buffer is
 * attached at an offset of the struct where the native implementation writes the buffer's address
 * (a 64-bit pointer); the Java-side bytes at those offsets stay zero. After the call every byte of the
 * struct and of the buffers holds what the kernel left there.
 *
 * <p>Not thread-safe; one instance belongs to one call.
 */
public final class IoctlArgument {
    private final byte[] struct;
    private final Map<Integer, byte[]> pointees = new TreeMap<>();

    /** An argument struct of {@code size} zero bytes. */
    public IoctlArgument(int size) {
        this.struct = new byte[size];
    }

    /** The struct bytes, live: writes are seen by the call, and the call's results are read here. */
    public byte[] struct() {
        return struct;
    }

    /**
     * Attaches {@code buffer} (live, not copied) as the target of the 64-bit pointer at {@code offset}.
     *
     * @throws IllegalArgumentException when the pointer would not fit in the struct or overlaps another
     */
    public IoctlArgument pointTo(int offset, byte[] buffer) {
        Objects.requireNonNull(buffer, "buffer");
        if (offset < 0 || offset + Long.BYTES > struct.length || offset % Long.BYTES != 0) {
            throw new IllegalArgumentException("pointer at offset " + offset + " does not fit an aligned u64 in a "
                    + struct.length + "-byte struct");
        }
        for (int other : pointees.keySet()) {
            if (Math.abs(other - offset) < Long.BYTES) {
                throw new IllegalArgumentException("pointer at offset " + offset + " overlaps the one at " + other);
            }
        }
        pointees.put(offset, buffer);
        return this;
    }

    /** Pointer offsets to their buffers, in offset order (buffers are live). */
    public Map<Integer, byte[]> pointees() {
        return java.util.Collections.unmodifiableMap(pointees);
    }

    @Override
    public String toString() {
        return "IoctlArgument[" + struct.length + " bytes, pointers at " + pointees.keySet() + ", "
                + Arrays.toString(pointees.values().stream().mapToInt(b -> b.length).toArray()) + "]";
    }
}
