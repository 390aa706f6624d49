package dev.attestmesh.quote.device;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** An in-memory ioctl layer: records what was opened and hands each call to a handler that plays the kernel. */
final class FakeIoctlDevice implements IoctlDevice {
    interface Kernel {
        void ioctl(long request, IoctlArgument argument) throws IoctlException;
    }

    final List<Path> opened = new ArrayList<>();
    int closed;
    private final Kernel kernel;

    FakeIoctlDevice(Kernel kernel) {
        this.kernel = kernel;
    }

    @Override
    public Handle open(Path path) throws IOException {
        opened.add(path);
        return new Handle() {
            @Override
            public void ioctl(long request, IoctlArgument argument) throws IoctlException {
                kernel.ioctl(request, argument);
            }

            @Override
            public void close() {
                closed++;
            }
        };
    }
}
