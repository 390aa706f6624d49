package dev.attestmesh.agent;

import dev.attestmesh.quote.device.EvidenceCollectionException;
import dev.attestmesh.quote.device.EvidenceCollector;
import java.util.Optional;

/**
 * Where the agent's evidence comes from: a collector on this machine's TEE device, or another agent that
 * holds the device (the Confidential Containers attestation-agent, {@code --tee coco}), whose type is only
 * known once its evidence has been read.
 */
@FunctionalInterface
public interface EvidenceSource {
    /**
     * Fresh evidence over {@code reportData} (64 bytes, DESIGN.md section 3).
     *
     * @throws EvidenceCollectionException when no evidence can be had, naming why
     */
    CollectedEvidence collect(byte[] reportData) throws EvidenceCollectionException;

    /** A source reading this machine's device through {@code collector}; no collateral. */
    static EvidenceSource of(EvidenceCollector collector) {
        return reportData -> new CollectedEvidence(collector.tee(), collector.collect(reportData), Optional.empty());
    }
}
