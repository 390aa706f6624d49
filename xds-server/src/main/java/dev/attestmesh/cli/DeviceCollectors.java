package dev.attestmesh.cli;

import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.device.EvidenceCollectionException;
import dev.attestmesh.quote.device.EvidenceCollector;

/** Finds the evidence collector for the TEE this process runs in. */
final class DeviceCollectors {
    private DeviceCollectors() {}

    /**
     * @param wanted a specific TEE type, or null to detect
     * @throws EvidenceCollectionException naming every interface looked for when none is present
     */
    static EvidenceCollector detect(TeeType wanted) throws EvidenceCollectionException {
        throw new EvidenceCollectionException("no TEE device support is built into this agent yet "
                + (wanted == null ? "" : "for '" + wanted.wireName() + "' ")
                + "(looked for configfs-tsm, /dev/tdx_guest, /dev/sev-guest, /dev/attestation); use --tee sim for development");
    }
}
