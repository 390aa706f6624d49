package dev.attestmesh.agent;

import com.google.protobuf.ByteString;
import dev.attestmesh.api.v1.AttestRequest;
import dev.attestmesh.api.v1.AttestResponse;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.ChallengeRequest;
import dev.attestmesh.api.v1.ChallengeResponse;
import dev.attestmesh.ca.SpiffeId;
import dev.attestmesh.issuance.ReportDataBinding;
import dev.attestmesh.quote.device.EvidenceCollectionException;
import dev.attestmesh.quote.device.EvidenceCollector;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One round of the attestation protocol (DESIGN.md section 3): ask for a nonce, collect fresh
 * evidence whose report data binds the nonce and the node's public key, and send it with a CSR.
 *
 * <p>In Kubernetes the agent proves its pod with the pod's projected service-account token
 * (DESIGN.md section 5a): the token file is read again for every attestation (the kubelet rotates
 * it), sent with the Challenge, and the node id the control plane binds the nonce to (the pod UID) is
 * the node id of the Attest request and of the CSR. The agent never names its own Kubernetes identity;
 * it may only ask for a SPIFFE ID, which the control plane grants or refuses.
 */
public final class Attestor {
    /** Largest service-account token read; Kubernetes tokens are about 1 KiB. */
    public static final int MAX_TOKEN_BYTES = 16 * 1024;
    private static final long RPC_TIMEOUT_SECONDS = 30;

    private final Optional<String> nodeId;
    private final EvidenceSource evidence;
    private final NodeKeyPair key;
    private final Optional<Path> serviceAccountTokenFile;
    private final Optional<String> requestedSpiffeId;

    /**
     * @param nodeId this node's id; may be empty only with a token file (the control plane then names
     *     the node id: the pod UID)
     * @param serviceAccountTokenFile the pod's projected service-account token (audience attestmesh)
     * @param requestedSpiffeId the SPIFFE ID to ask for; empty = the one registration the claims satisfy
     * @throws IllegalArgumentException when neither a node id nor a token file is given, or the node id or
     *     SPIFFE ID is malformed
     */
    public Attestor(Optional<String> nodeId, EvidenceCollector collector, NodeKeyPair key,
            Optional<Path> serviceAccountTokenFile, Optional<String> requestedSpiffeId) {
        this(nodeId, EvidenceSource.of(Objects.requireNonNull(collector, "collector")), key, serviceAccountTokenFile,
                requestedSpiffeId);
    }

    /** As above, with evidence from any {@link EvidenceSource} (e.g. the CoCo attestation-agent). */
    public Attestor(Optional<String> nodeId, EvidenceSource evidence, NodeKeyPair key,
            Optional<Path> serviceAccountTokenFile, Optional<String> requestedSpiffeId) {
        this.nodeId = Objects.requireNonNull(nodeId, "nodeId");
        this.evidence = Objects.requireNonNull(evidence, "evidence");
        this.key = Objects.requireNonNull(key, "key");
        this.serviceAccountTokenFile = Objects.requireNonNull(serviceAccountTokenFile, "serviceAccountTokenFile");
        this.requestedSpiffeId = Objects.requireNonNull(requestedSpiffeId, "requestedSpiffeId");
        if (nodeId.isEmpty() && serviceAccountTokenFile.isEmpty()) {
            throw new IllegalArgumentException("a node id is required unless a service-account token file is given "
                    + "(the control plane then uses the pod UID)");
        }
        nodeId.ifPresent(SpiffeId::checkNodeId);
        requestedSpiffeId.ifPresent(SpiffeId::parse);
    }

    public AgentCredentials attest(Channel channel) throws AttestationRefusedException {
        var stub = AttestationServiceGrpc.newBlockingStub(channel);
        try {
            ChallengeRequest.Builder ask = ChallengeRequest.newBuilder().setNodeId(nodeId.orElse(""));
            if (serviceAccountTokenFile.isPresent()) {
                ask.setServiceAccountToken(readToken(serviceAccountTokenFile.get()));
            }
            ChallengeResponse challenge = stub.withDeadlineAfter(RPC_TIMEOUT_SECONDS, TimeUnit.SECONDS)
                    .challenge(ask.build());
            String boundNodeId = boundNodeId(challenge.getNodeId());
            byte[] nonce = challenge.getNonce().toByteArray();
            byte[] reportData = ReportDataBinding.expected(nonce, key.subjectPublicKeyInfoDer());
            CollectedEvidence collected = evidence.collect(reportData);
            AttestRequest.Builder req = AttestRequest.newBuilder()
                    .setNodeId(boundNodeId)
                    .setTee(collected.tee().wireName())
                    .setEvidence(ByteString.copyFrom(collected.evidence()))
                    .setCsr(ByteString.copyFrom(key.csrDer(boundNodeId)))
                    .setNonce(ByteString.copyFrom(nonce));
            collected.collateral().ifPresent(c -> req.setCollateral(ByteString.copyFrom(c)));
            requestedSpiffeId.ifPresent(req::setSpiffeId);
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

    /** The node id the nonce is bound to: the control plane's when it names one, else ours. */
    private String boundNodeId(String fromControlPlane) throws AttestationRefusedException {
        if (fromControlPlane.isEmpty()) {
            return nodeId.orElseThrow(() -> new AttestationRefusedException("MALFORMED", "the control plane did not "
                    + "bind the nonce to a node id for the service-account token; it may not accept Kubernetes "
                    + "tokens (attestmesh.kubernetes.*), or give the agent --node-id", false, null));
        }
        try {
            SpiffeId.checkNodeId(fromControlPlane);
        } catch (IllegalArgumentException e) {
            throw new AttestationRefusedException("MALFORMED", "the control plane returned an invalid node id", false,
                    e);
        }
        if (nodeId.isPresent() && !nodeId.get().equals(fromControlPlane)) {
            throw new AttestationRefusedException("MALFORMED", "the control plane bound the nonce to node id '"
                    + fromControlPlane + "', not this agent's --node-id '" + nodeId.get()
                    + "'; with a service-account token the node id is the pod UID: drop --node-id or set it to the "
                    + "pod UID", false, null);
        }
        return fromControlPlane;
    }

    /** The token, read afresh (the kubelet replaces the file before it expires). Never logged. */
    static String readToken(Path file) throws AttestationRefusedException {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_TOKEN_BYTES + 1);
        } catch (IOException e) {
            // The kubelet may not have written it yet: retry.
            throw new AttestationRefusedException("TOKEN", "cannot read the service-account token file " + file + " ("
                    + e.getClass().getSimpleName() + "); mount a projected serviceAccountToken volume with audience "
                    + "attestmesh", true, e);
        }
        if (bytes.length > MAX_TOKEN_BYTES) {
            throw new AttestationRefusedException("TOKEN", "the service-account token file " + file + " is larger than "
                    + MAX_TOKEN_BYTES + " bytes; it is not a projected service-account token", false, null);
        }
        String token = new String(bytes, StandardCharsets.US_ASCII).strip();
        if (token.isEmpty() || token.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
            throw new AttestationRefusedException("TOKEN", "the service-account token file " + file
                    + " is empty or not a JWT (printable ASCII)", true, null);
        }
        return token;
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
