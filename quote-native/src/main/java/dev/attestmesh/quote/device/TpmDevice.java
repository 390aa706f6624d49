package dev.attestmesh.quote.device;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The seam between the vTPM collector and the kernel's TPM resource manager ({@code /dev/tpmrm0}): a
 * command is written whole and its response read whole. {@link LibcTpmDevice} uses libc through JNA;
 * tests substitute a fake TPM that checks the command bytes.
 */
public interface TpmDevice {

    /** Opens {@code path} for reading and writing. */
    Handle open(Path path) throws IOException;

    /** An open TPM character device. */
    interface Handle extends AutoCloseable {
        /** Sends one marshalled command and returns the TPM's whole response. */
        byte[] transmit(byte[] command) throws IOException;

        @Override
        void close() throws IOException;
    }
}
