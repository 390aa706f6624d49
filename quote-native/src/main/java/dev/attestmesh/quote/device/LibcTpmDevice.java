package dev.attestmesh.quote.device;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import dev.attestmesh.quote.tpm.Tpm2Commands;
import java.io.IOException;
import java.nio.file.Path;

/**
 * {@link TpmDevice} over libc's {@code open(2)}, {@code write(2)}, {@code read(2)} and {@code close(2)}
 * through JNA (Linux only). The kernel's TPM driver takes one whole command per write and returns the
 * whole response on the next read.
 */
public final class LibcTpmDevice implements TpmDevice {
    private static final int O_RDWR = 2;
    private static final int O_CLOEXEC = 0x80000;

    private interface CLibrary extends Library {
        int open(String path, int flags) throws LastErrorException;

        NativeLong write(int fd, Pointer buf, NativeLong count) throws LastErrorException;

        NativeLong read(int fd, Pointer buf, NativeLong count) throws LastErrorException;

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
            throw new IOException("cannot open " + path + " (errno " + e.getErrorCode() + ")");
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
        public synchronized byte[] transmit(byte[] command) throws IOException {
            if (closed) {
                throw new IOException(path + " is closed");
            }
            Memory in = new Memory(command.length);
            in.write(0, command, 0, command.length);
            Memory out = new Memory(Tpm2Commands.MAX_RESPONSE);
            try {
                long written = Holder.LIBC.write(fd, in, new NativeLong(command.length)).longValue();
                if (written != command.length) {
                    throw new IOException("short write of a TPM command to " + path + ": " + written + " of " + command.length);
                }
                long n = Holder.LIBC.read(fd, out, new NativeLong(Tpm2Commands.MAX_RESPONSE)).longValue();
                return out.getByteArray(0, (int) n);
            } catch (LastErrorException e) {
                throw new IOException("TPM command on " + path + " failed (errno " + e.getErrorCode() + ")");
            }
        }

        @Override
        public synchronized void close() throws IOException {
            if (!closed) {
                closed = true;
                try {
                    Holder.LIBC.close(fd);
                } catch (LastErrorException e) {
                    throw new IOException("closing " + path + " failed (errno " + e.getErrorCode() + ")");
                }
            }
        }
    }
}
