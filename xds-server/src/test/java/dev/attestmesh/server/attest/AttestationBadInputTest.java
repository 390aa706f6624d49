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
import dev.attestmesh.ca.Pem;
import dev.attestmesh.issuance.ReportDataBinding;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ControlPlaneFixture;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Every kind of bad Attest request gets its own status and a reason naming the problem, and nothing is
 * stored or issued for it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AttestationBadInputTest {
    static final String GOOD = ControlPlaneFixture.GOOD;
    ControlPlaneFixture f;
    ManagedChannel channel;
    AttestationServiceGrpc.AttestationServiceBlockingStub stub;

    @BeforeAll
    void start() throws Exception {
        f = ControlPlaneFixture.start(ControlPlaneFixture.simPolicy("default", GOOD), Map.of());
        channel = ControlPlaneChannels.open(f.target(), Pem.parseCertificates(Files.readString(f.cp.caBundleFile())),
                Optional.empty());
        stub = AttestationServiceGrpc.newBlockingStub(channel);
    }

    @AfterAll
    void stop() {
        channel.shutdownNow();
        f.close();
    }

    byte[] nonce(String node) {
        return stub.withDeadlineAfter(5, TimeUnit.SECONDS).challenge(ChallengeRequest.newBuilder().setNodeId(node)
                .build()).getNonce().toByteArray();
    }

    AttestRequest.Builder valid(String node, byte[] nonce, NodeKeyPair key) {
        byte[] ev = SimulatedTee.withMeasurementHex(GOOD)
                .collect(ReportDataBinding.expected(nonce, key.subjectPublicKeyInfoDer()));
        return AttestRequest.newBuilder().setNodeId(node).setTee("sim").setEvidence(ByteString.copyFrom(ev))
                .setCsr(ByteString.copyFrom(key.csrDer(node))).setNonce(ByteString.copyFrom(nonce));
    }

    StatusRuntimeException refused(AttestRequest req, Status.Code code, String reasonFragment) {
        long logBefore = f.cp.issuanceLog().verify().entriesChecked();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> stub.withDeadlineAfter(10, TimeUnit.SECONDS).attest(req));
        assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
        assertTrue(e.getStatus().getDescription().contains(reasonFragment), e.getStatus().getDescription());
        assertTrue(f.cp.registry().entry(req.getNodeId()).isEmpty(), "nothing stored for " + req.getNodeId());
        assertEquals(logBefore, f.cp.issuanceLog().verify().entriesChecked(), "nothing issued");
        return e;
    }

    @Test
    void malformedCsrIsInvalidArgument() {
        byte[] n = nonce("bad-csr");
        refused(valid("bad-csr", n, NodeKeyPair.generate()).setCsr(ByteString.copyFromUtf8("not a csr")).build(),
                Status.Code.INVALID_ARGUMENT, "CSR rejected");
    }

    @Test
    void csrWhoseKeyIsNotTheOneBoundInTheEvidenceIsDenied() {
        byte[] n = nonce("swap");
        NodeKeyPair bound = NodeKeyPair.generate();
        NodeKeyPair other = NodeKeyPair.generate();
        refused(valid("swap", n, bound).setCsr(ByteString.copyFrom(other.csrDer("swap"))).build(),
                Status.Code.PERMISSION_DENIED, "does not bind this nonce and the CSR's public key");
    }

    @Test
    void unknownNonceIsRefused() {
        byte[] n = new byte[32];
        Arrays.fill(n, (byte) 7);
        refused(valid("unknown-nonce", n, NodeKeyPair.generate()).build(), Status.Code.FAILED_PRECONDITION,
                "not issued by this control plane");
    }

    @Test
    void nonceIssuedForAnotherNodeIdIsRefused() {
        byte[] n = nonce("someone-else");
        refused(valid("thief", n, NodeKeyPair.generate()).build(), Status.Code.FAILED_PRECONDITION,
                "issued for another node id");
    }

    @Test
    void evidenceBoundToAnotherNonceIsDenied() {
        byte[] n1 = nonce("stale");
        byte[] n2 = nonce("stale");
        NodeKeyPair key = NodeKeyPair.generate();
        AttestRequest withOldEvidence = valid("stale", n1, key).setNonce(ByteString.copyFrom(n2)).build();
        refused(withOldEvidence, Status.Code.PERMISSION_DENIED, "does not bind");
    }

    @Test
    void oversizedEvidenceAndBadNodeIdsAndUnknownTeesAreInvalidArguments() {
        byte[] n = nonce("big");
        refused(valid("big", n, NodeKeyPair.generate()).setEvidence(ByteString.copyFrom(new byte[70_000])).build(),
                Status.Code.INVALID_ARGUMENT, "more than the limit");
        refused(valid("bad id!", nonce("x"), NodeKeyPair.generate()).build(), Status.Code.INVALID_ARGUMENT,
                "node_id");
        refused(valid("tee", nonce("tee"), NodeKeyPair.generate()).setTee("quantum").build(),
                Status.Code.INVALID_ARGUMENT, "unknown TEE type");
    }

    @Test
    void tamperedEvidenceIsDeniedNamingTheCheck() {
        byte[] n = nonce("tamper");
        AttestRequest.Builder b = valid("tamper", n, NodeKeyPair.generate());
        byte[] ev = b.getEvidence().toByteArray();
        ev[20] ^= 1;
        refused(b.setEvidence(ByteString.copyFrom(ev)).build(), Status.Code.PERMISSION_DENIED, "SIM_SIGNATURE");
    }

    @Test
    void validRequestIsAcceptedAndRecorded() {
        NodeKeyPair key = NodeKeyPair.generate();
        AttestRequest req = valid("honest", nonce("honest"), key).build();
        assertEquals(2, stub.withDeadlineAfter(10, TimeUnit.SECONDS).attest(req).getCertChainCount());
        assertTrue(f.cp.registry().entry("honest").isPresent());
    }
}
