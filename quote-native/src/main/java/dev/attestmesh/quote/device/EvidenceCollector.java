package dev.attestmesh.quote.device;

import dev.attestmesh.quote.TeeType;

/**
 * Produces evidence on the node from inside the TEE, binding 64 bytes of caller data (the report
 * data). Implementations talk to a kernel interface (configfs-tsm, {@code /dev/tdx_guest}, {@code
 * /dev/sev-guest}, Gramine's {@code /dev/attestation}) or to the simulator.
 */
public interface EvidenceCollector {

    /** The type of evidence this collector produces. */
    TeeType tee();

    /**
     * Collects fresh evidence over {@code reportData}.
     *
     * @param reportData exactly 64 bytes
     * @throws EvidenceCollectionException when the device is missing, refuses, or returns garbage
     */
    byte[] collect(byte[] reportData) throws EvidenceCollectionException;
}
