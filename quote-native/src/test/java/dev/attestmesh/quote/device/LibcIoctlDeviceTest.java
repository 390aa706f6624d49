package dev.attestmesh.quote.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The real libc path through JNA, on device nodes every Linux machine has. */
class LibcIoctlDeviceTest {

    @Test
    void openingAMissingDeviceFailsWithEnoent() {
        IoctlDevice.IoctlException e = assertThrows(IoctlDevice.IoctlException.class,
                () -> new LibcIoctlDevice().open(Path.of("/dev/attestmesh-no-such-device")));
        assertEquals(2, e.errno());
    }

    @Test
    void anIoctlTheDeviceDoesNotKnowFailsWithEnottyAndLeavesTheArgumentIntact() throws Exception {
        assumeTrue(Files.exists(Path.of("/dev/null")), "/dev/null is needed");
        byte[] buffer = {1, 2, 3, 4};
        IoctlArgument arg = new IoctlArgument(32).pointTo(8, buffer);
        arg.struct()[0] = 7;
        try (IoctlDevice.Handle h = new LibcIoctlDevice().open(Path.of("/dev/null"))) {
            IoctlDevice.IoctlException e = assertThrows(IoctlDevice.IoctlException.class,
                    () -> h.ioctl(SevGuestIoctlCollector.SNP_GET_REPORT, arg));
            assertEquals(25, e.errno(), "ENOTTY");
        }
        assertEquals(7, arg.struct()[0]);
        assertEquals(0, arg.struct()[8], "the native pointer is not copied back into the Java view");
        assertEquals(3, buffer[2]);
    }
}
