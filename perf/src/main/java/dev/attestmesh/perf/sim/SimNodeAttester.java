package dev.attestmesh.perf.sim;

import com.google.protobuf.ByteString;
import dev.attestmesh.agent.NodeKeyPair;
import dev.attestmesh.api.v1.AttestRequest;
import dev.attestmesh.api.v1.AttestResponse;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.ChallengeRequest;
import dev.attestmesh.issuance.ReportDataBinding;
import dev.attestmesh.perf.faults.FaultMesh;
import dev.attestmesh.quote.sim.SimulatedTee;
import io.grpc.Channel;
import java.io.ByteArrayInputStream;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One simulated node's attestation as the node agent does it, without the agent's files: a new key, Challenge,
 * simulated evidence binding the nonce and the key ({@link FaultMesh#MEASUREMENT}), Attest with the CSR; the
 * answered chain parsed by the JDK. One instance per thread (its stub and certificate factory are not shared).
 */
public final class SimNodeAttester {
    /** An attested node: its id, key and certificate chain (leaf first). */
    public record Attested(String nodeId, PrivateKey key, List<X509Certificate> chain) {}

    private final AttestationServiceGrpc.AttestationServiceBlockingStub stub;
    private final SimulatedTee tee = SimulatedTee.withMeasurementHex(FaultMesh.MEASUREMENT);
    private final CertificateFactory cf;

    public SimNodeAttester(Channel channel) {
        this.stub = AttestationServiceGrpc.newBlockingStub(channel);
        try {
            this.cf = CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Attests {@code nodeId}; each call has a 30 s deadline. Throws what the call or the parse threw. */
    public Attested attest(String nodeId) throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        byte[] nonce = stub.withDeadlineAfter(30, TimeUnit.SECONDS).challenge(ChallengeRequest.newBuilder()
                .setNodeId(nodeId).build()).getNonce().toByteArray();
        byte[] ev = tee.collect(ReportDataBinding.expected(nonce, key.subjectPublicKeyInfoDer()));
        AttestResponse r = stub.withDeadlineAfter(30, TimeUnit.SECONDS).attest(AttestRequest.newBuilder()
                .setNodeId(nodeId).setTee("sim").setEvidence(ByteString.copyFrom(ev))
                .setCsr(ByteString.copyFrom(key.csrDer(nodeId))).setNonce(ByteString.copyFrom(nonce)).build());
        List<X509Certificate> chain = new ArrayList<>();
        for (ByteString der : r.getCertChainList()) {
            chain.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der.toByteArray())));
        }
        return new Attested(nodeId, key.privateKey(), chain);
    }
}
