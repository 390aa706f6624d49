package dev.attestmesh.server.attest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.attestmesh.agent.ControlPlaneChannels;
import dev.attestmesh.agent.NodeKeyPair;
import dev.attestmesh.api.v1.AttestRequest;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.ChallengeRequest;
import dev.attestmesh.server.ControlPlaneFixture;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Azure vTPM evidence reaches the az-snp-vtpm verifier through the control plane's configuration,
 * which checks AMD's CRL and fails closed when it cannot get one (no route to KDS here, and the
 * vectors' AMD roots directory holds no CRL files).
 */
class AzureEvidenceWiringTest {
    @Test
    void azureEvidenceIsVerifiedByTheServerAndRefusedClosedWithoutAmdsCrl() throws Exception {
        Path v = HardwareEvidenceWiringTest.vectors();
        try (ControlPlaneFixture f = ControlPlaneFixture.start(ControlPlaneFixture.simPolicy("default",
                ControlPlaneFixture.GOOD), Map.of("attestmesh.amd.roots-dir", v.resolve("roots/amd").toString(),
                        "attestmesh.amd.kds-url", "http://127.0.0.1:9"))) {
            ManagedChannel ch = ControlPlaneChannels.open(f.target(), f.cp.trustBundle(), Optional.empty());
            try {
                var stub = AttestationServiceGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS);
                byte[] nonce = stub.challenge(ChallengeRequest.newBuilder().setNodeId("az-1").build()).getNonce().toByteArray();
                NodeKeyPair key = NodeKeyPair.generate();
                AttestRequest req = AttestRequest.newBuilder().setNodeId("az-1").setTee("az-snp-vtpm")
                        .setEvidence(ByteString.copyFrom(Files.readAllBytes(
                                v.resolve("snp/trustee-azure-genoa/evidence-genoa.json"))))
                        .setCsr(ByteString.copyFrom(key.csrDer("az-1"))).setNonce(ByteString.copyFrom(nonce)).build();
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> stub.attest(req));
                assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
                String d = e.getStatus().getDescription();
                assertTrue(d.contains("COLLATERAL_UNAVAILABLE") && d.contains("CRL"), d);
            } finally {
                ch.shutdownNow();
            }
        }
    }
}
