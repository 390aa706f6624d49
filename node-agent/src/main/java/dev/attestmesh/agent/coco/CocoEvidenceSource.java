package dev.attestmesh.agent.coco;

import dev.attestmesh.agent.CollectedEvidence;
import dev.attestmesh.agent.EvidenceSource;
import dev.attestmesh.quote.EvidenceParseException;
import dev.attestmesh.quote.device.EvidenceCollectionException;
import java.util.Objects;

/**
 * {@code --tee coco}: evidence from the Confidential Containers attestation-agent, for pods that are the TEE
 * and see no TEE device themselves. The report data binding (DESIGN.md section 3, 64 bytes) goes to
 * {@code GetEvidence} as runtime data, which the attestation-agent puts into the report data unchanged (it
 * zero-pads shorter data to 64 bytes); the answer is mapped to native evidence by {@link CocoEvidence}.
 */
public final class CocoEvidenceSource implements EvidenceSource {
    private final AttestationAgentClient client;

    public CocoEvidenceSource(AttestationAgentClient client) {
        this.client = Objects.requireNonNull(client, "client");
    }

    @Override
    public CollectedEvidence collect(byte[] reportData) throws EvidenceCollectionException {
        byte[] json;
        try {
            json = client.getEvidence(reportData);
        } catch (TtrpcException e) {
            throw new EvidenceCollectionException("attestation-agent at unix://" + client.socket() + ": "
                    + e.kind() + ": " + e.getMessage(), e);
        }
        try {
            return CocoEvidence.toNative(json);
        } catch (EvidenceParseException e) {
            throw new EvidenceCollectionException("attestation-agent at unix://" + client.socket()
                    + " returned evidence AttestMesh cannot use: " + e.getMessage(), e);
        }
    }
}
