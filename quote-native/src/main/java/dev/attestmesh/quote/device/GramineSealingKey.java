package dev.attestmesh.quote.device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads Gramine's SGX sealing key bound to the enclave's MRENCLAVE: the pseudo-file
 * {@code /dev/attestation/keys/_sgx_mrenclave}, 16 raw bytes (EGETKEY with the MRENCLAVE policy). Only
 * an enclave with the same MRENCLAVE on the same CPU reads the same key.
 */
public final class GramineSealingKey {
    /** The pseudo-file under Gramine's attestation directory. */
    public static final String MRENCLAVE_KEY = "keys/_sgx_mrenclave";
    /** Length of an SGX sealing key. */
    public static final int KEY_LENGTH = 16;

    private GramineSealingKey() {}

    /** The key file under {@code attestationRoot} (normally {@link GramineAttestationCollector#ROOT}). */
    public static Path file(Path attestationRoot) {
        return attestationRoot.resolve(MRENCLAVE_KEY);
    }

    /**
     * @throws EvidenceCollectionException when the file cannot be read or is not 16 bytes
     */
    public static byte[] read(Path attestationRoot) throws EvidenceCollectionException {
        Path f = file(attestationRoot);
        byte[] key;
        try {
            key = Files.readAllBytes(f);
        } catch (IOException e) {
            throw new EvidenceCollectionException("cannot read the SGX sealing key " + f + " (is this running inside "
                    + "Gramine?): " + e.getMessage(), e);
        }
        if (key.length != KEY_LENGTH) {
            throw new EvidenceCollectionException(f + " holds " + key.length + " bytes, expected a " + KEY_LENGTH
                    + "-byte SGX sealing key");
        }
        return key;
    }
}
