package dev.attestmesh.quote.device;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The seam between the ioctl-based collectors and the kernel: open a device node, issue ioctls,
 * close it. {@link LibcIoctlDevice} calls libc through JNA; tests substitute a fake that checks the
 * request codes and argument layouts byte by byte.
 */
public interface IoctlDevice {

    /**
     * Opens {@code path} for reading and writing.
     *
     * @throws IOException when it does not exist or cannot be opened (the message carries errno)
     */
    Handle open(Path path) throws IOException;

    /** An open device node. */
    interface Handle extends AutoCloseable {

        /**
         * Issues {@code ioctl(fd, request, arg)}; on return, {@code argument} holds what the kernel wrote.
         *
         * @throws IoctlException when the call returns -1, with its errno
         */
        void ioctl(long request, IoctlArgument argument) throws IoctlException;

        @Override
        void close() throws IOException;
    }

    /** An ioctl call failed. */
    final class IoctlException extends IOException {
        private final int errno;

        public IoctlException(String message, int errno) {
            super(message + " (errno " + errno + ")");
            this.errno = errno;
        }

        /** The C errno of the failed call. */
        public int errno() {
            return errno;
        }
    }
}
