package dev.attestmesh.agent;

import com.google.protobuf.ByteString;
import dev.attestmesh.api.v1.AttestRequest;
import dev.attestmesh.api.v1.AttestResponse;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.ChallengeRequest;
import dev.attestmesh.api.v1.ChallengeResponse;
import dev.attestmesh.issuance.ReportDataBinding;
import dev.attestmesh.quote.device.EvidenceCollectionException;
import dev.attestmesh.quote.device.EvidenceCollector;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One round of the attestation protocol (DESIGN.md section 3): ask for a nonce, collect fresh
 * evidence whose report data binds the nonce and the node's public key, and send it with a CSR.
 */
public final class Attestor {
    private static final long RPC_TIMEOUT_SECONDS = 30;

    private final String nodeId;
    private final EvidenceCollector collector;
    private final NodeKeyPair key;
    private final Optional<String> namespace;
    private final Optional<String> serviceAccount;

    public Attestor(String nodeId, EvidenceCollector collector, NodeKeyPair key, Optional<String> namespace,
            Optional<String> serviceAccount) {
        this.nodeId = nodeId;
        this.collector = collector;
        this.key = key;
        this.namespace = namespace;
        this.serviceAccount = serviceAccount;
    }

    public AgentCredentials attest(Channel channel) throws AttestationRefusedException {
        var stub = AttestationServiceGrpc.newBlockingStub(channel);
        try {
            ChallengeResponse challenge = stub.withDeadlineAfter(RPC_TIMEOUT_SECONDS, TimeUnit.SECONDS)
                    .challenge(ChallengeRequest.newBuilder().setNodeId(nodeId).build());
            byte[] nonce = challenge.getNonce().toByteArray();
            byte[] reportData = ReportDataBinding.expected(nonce, key.subjectPublicKeyInfoDer());
            byte[] evidence = collector.collect(reportData);
            AttestRequest.Builder req = AttestRequest.newBuilder()
                    .setNodeId(nodeId)
                    .setTee(collector.tee().wireName())
                    .setEvidence(ByteString.copyFrom(evidence))
                    .setCsr(ByteString.copyFrom(key.csrDer(nodeId)))
                    .setNonce(ByteString.copyFrom(nonce));
            namespace.ifPresent(req::setNamespace);
            serviceAccount.ifPresent(req::setServiceAccount);
            AttestResponse resp = stub.withDeadlineAfter(RPC_TIMEOUT_SECONDS, TimeUnit.SECONDS).attest(req.build());
            return new AgentCredentials(certificates(resp.getCertChainList()), certificates(resp.getTrustBundleList()),
                    resp.getClaims(), toInstant(resp.getExpiresAt()), toInstant(resp.getRenewAfter()));
        } catch (StatusRuntimeException e) {
            Status.Code code = e.getStatus().getCode();
            boolean retryable = switch (code) {
                case UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNKNOWN -> true;
                default -> false;
            };
            String why = e.getStatus().getDescription() == null ? code.name() : e.getStatus().getDescription();
            throw new AttestationRefusedException(code.name(), "control plane: " + why, retryable, e);
        } catch (EvidenceCollectionException e) {
            throw new AttestationRefusedException("EVIDENCE", "cannot collect evidence: " + e.getMessage(), false, e);
        }
    }

    private static Instant toInstant(com.google.protobuf.Timestamp t) {
        return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
    }

    private static List<X509Certificate> certificates(List<ByteString> ders) throws AttestationRefusedException {
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            List<X509Certificate> out = new ArrayList<>(ders.size());
            for (ByteString der : ders) {
                out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der.toByteArray())));
            }
            if (out.isEmpty()) {
                throw new AttestationRefusedException("MALFORMED", "control plane returned no certificates", false, null);
            }
            return out;
        } catch (CertificateException e) {
            throw new AttestationRefusedException("MALFORMED", "control plane returned an unparseable certificate",
                    false, e);
        }
    }
}
