package dev.attestmesh.server.attest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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

/** Real SGX evidence reaches the DCAP verifier through the control plane's configuration. */
class HardwareEvidenceWiringTest {
    static Path vectors() {
        Path d = Path.of(System.getProperty("attestmesh.vectors", "../shared/vectors"));
        assumeTrue(Files.isDirectory(d.resolve("sgx")), "vectors not found at " + d + "; skipping");
        return d;
    }

    static StatusRuntimeException attestSgx(ControlPlaneFixture f, Path v) throws Exception {
        return attestSgxAs(f, v, "sgx");
    }

    static StatusRuntimeException attestSgxAs(ControlPlaneFixture f, Path v, String tee) throws Exception {
        ManagedChannel ch = ControlPlaneChannels.open(f.target(), f.cp.trustBundle(), Optional.empty());
        try {
            var stub = AttestationServiceGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
            byte[] nonce = stub.challenge(ChallengeRequest.newBuilder().setNodeId("sgx-1").build()).getNonce()
                    .toByteArray();
            NodeKeyPair key = NodeKeyPair.generate();
            AttestRequest req = AttestRequest.newBuilder().setNodeId("sgx-1").setTee(tee)
                    .setEvidence(ByteString.copyFrom(Files.readAllBytes(v.resolve("sgx/dcap-qvl-sgx/sgx_quote"))))
                    .setCollateral(ByteString.copyFrom(Files.readAllBytes(
                            v.resolve("sgx/dcap-qvl-sgx/sgx_quote_collateral.json"))))
                    .setCsr(ByteString.copyFrom(key.csrDer("sgx-1"))).setNonce(ByteString.copyFrom(nonce)).build();
            return assertThrows(StatusRuntimeException.class, () -> stub.attest(req));
        } finally {
            ch.shutdownNow();
        }
    }

    @Test
    void sgxQuoteIsVerifiedWithTheConfiguredIntelRootAndJudgedAtTheCurrentTime() throws Exception {
        Path v = vectors();
        try (ControlPlaneFixture f = ControlPlaneFixture.start(ControlPlaneFixture.simPolicy("default",
                ControlPlaneFixture.GOOD), Map.of("attestmesh.intel.root", v.resolve("roots/dcap-qvl_TrustedRootCA.der")
                        .toString()))) {
            StatusRuntimeException e = attestSgx(f, v);
            assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
            // The 2025 collateral has expired by now: the full DCAP verifier ran, signatures and all.
            assertTrue(e.getStatus().getDescription().contains("COLLATERAL_EXPIRED"), e.getStatus().getDescription());
        }
    }

    @Test
    void anSgxQuoteDeclaredAsTdxIsRefusedNamingBothTypes() throws Exception {
        Path v = vectors();
        try (ControlPlaneFixture f = ControlPlaneFixture.start(ControlPlaneFixture.simPolicy("default",
                ControlPlaneFixture.GOOD), Map.of("attestmesh.intel.root", v.resolve("roots/dcap-qvl_TrustedRootCA.der")
                        .toString()))) {
            StatusRuntimeException e = attestSgxAs(f, v, "tdx");
            assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().contains("declared as 'tdx'")
                    && e.getStatus().getDescription().contains("SGX DCAP quote v3"), e.getStatus().getDescription());
        }
    }

    @Test
    void withoutReachableIntelRootSgxEvidenceIsRefusedNamingTheTrustAnchor() throws Exception {
        Path v = vectors();
        try (ControlPlaneFixture f = ControlPlaneFixture.start(ControlPlaneFixture.simPolicy("default",
                ControlPlaneFixture.GOOD), Map.of("attestmesh.intel.root", "/nonexistent/intel-root.der"))) {
            StatusRuntimeException e = attestSgx(f, v);
            assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().contains("TRUST_ANCHOR")
                    && e.getStatus().getDescription().contains("attestmesh.intel.root"), e.getStatus().getDescription());
        }
    }
}
