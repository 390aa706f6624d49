package dev.attestmesh.quote.device;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@link IoctlDevice} over the C library's {@code open(2)}, {@code ioctl(2)} and {@code close(2)}
 * through JNA (Linux only). The argument struct and every buffer it points to are copied to native
 * memory for the call and copied back after it. libc is loaded on first use.
 */
public final class LibcIoctlDevice implements IoctlDevice {
    private static final int O_RDWR = 2;
    private static final int O_CLOEXEC = 0x80000;

    private interface CLibrary extends Library {
        int open(String path, int flags) throws LastErrorException;

        int ioctl(int fd, NativeLong request, Pointer argument) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    private static final class Holder {
        static final CLibrary LIBC = Native.load("c", CLibrary.class);
    }

    @Override
    public Handle open(Path path) throws IOException {
        int fd;
        try {
            fd = Holder.LIBC.open(path.toString(), O_RDWR | O_CLOEXEC);
        } catch (LastErrorException e) {
            throw new IoctlException("cannot open " + path, e.getErrorCode());
        } catch (UnsatisfiedLinkError e) {
            throw new IOException("cannot load the C library through JNA to open " + path + ": " + e.getMessage(), e);
        }
        return new LibcHandle(fd, path);
    }

    private static final class LibcHandle implements Handle {
        private final int fd;
        private final Path path;
        private boolean closed;

        LibcHandle(int fd, Path path) {
            this.fd = fd;
            this.path = path;
        }

        @Override
        public synchronized void ioctl(long request, IoctlArgument argument) throws IoctlException {
            if (closed) {
                throw new IoctlException(path + " is closed", 9 /* EBADF */);
            }
            byte[] struct = argument.struct();
            Memory nativeStruct = new Memory(Math.max(1, struct.length));
            nativeStruct.write(0, struct, 0, struct.length);
            List<Memory> buffers = new ArrayList<>();
            for (Map.Entry<Integer, byte[]> p : argument.pointees().entrySet()) {
                byte[] b = p.getValue();
                Memory m = new Memory(Math.max(1, b.length));
                m.write(0, b, 0, b.length);
                nativeStruct.setPointer(p.getKey(), m);
                buffers.add(m);
            }
            try {
                Holder.LIBC.ioctl(fd, new NativeLong(request), nativeStruct);
            } catch (LastErrorException e) {
                copyBack(argument, nativeStruct, buffers);
                throw new IoctlException(String.format("ioctl 0x%08x on %s failed", request, path), e.getErrorCode());
            }
            copyBack(argument, nativeStruct, buffers);
        }

        private static void copyBack(IoctlArgument argument, Memory nativeStruct, List<Memory> buffers) {
            byte[] struct = argument.struct();
            nativeStruct.read(0, struct, 0, struct.length);
            int i = 0;
            for (Map.Entry<Integer, byte[]> p : argument.pointees().entrySet()) {
                byte[] b = p.getValue();
                buffers.get(i++).read(0, b, 0, b.length);
                // The Java view keeps zeros where the native addresses were.
                java.util.Arrays.fill(struct, p.getKey(), p.getKey() + Long.BYTES, (byte) 0);
            }
        }

        @Override
        public synchronized void close() throws IOException {
            if (!closed) {
                closed = true;
                try {
                    Holder.LIBC.close(fd);
                } catch (LastErrorException e) {
                    throw new IoctlException("cannot close " + path, e.getErrorCode());
                }
            }
        }
    }
}
