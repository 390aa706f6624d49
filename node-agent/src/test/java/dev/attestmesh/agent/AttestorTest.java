package dev.attestmesh.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.attestmesh.api.v1.AttestRequest;
import dev.attestmesh.api.v1.AttestResponse;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.ChallengeRequest;
import dev.attestmesh.api.v1.ChallengeResponse;
import dev.attestmesh.issuance.ReportDataBinding;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.device.EvidenceCollector;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.interfaces.ECPrivateKey;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AttestorTest {
    static final byte[] NONCE = new byte[32];

    static {
        Arrays.fill(NONCE, (byte) 0x5a);
    }

    /** A control plane stand-in that records the raw bytes of every Attest request. */
    static final class RecordingService extends AttestationServiceGrpc.AttestationServiceImplBase {
        final AtomicReference<AttestRequest> seen = new AtomicReference<>();

        @Override
        public void challenge(ChallengeRequest request, StreamObserver<ChallengeResponse> out) {
            out.onNext(ChallengeResponse.newBuilder().setNonce(ByteString.copyFrom(NONCE)).build());
            out.onCompleted();
        }

        @Override
        public void attest(AttestRequest request, StreamObserver<AttestResponse> out) {
            seen.set(request);
            out.onError(Status.PERMISSION_DENIED.withDescription("no policy satisfied: test").asRuntimeException());
        }
    }

    @Test
    void sendsEvidenceBoundToNonceAndCsrKeyAndNeverThePrivateKey() throws Exception {
        RecordingService svc = new RecordingService();
        String name = InProcessServerBuilder.generateName();
        Server server = InProcessServerBuilder.forName(name).directExecutor().addService(svc).build().start();
        ManagedChannel ch = InProcessChannelBuilder.forName(name).directExecutor().build();
        AtomicReference<byte[]> reportData = new AtomicReference<>();
        EvidenceCollector collector = new EvidenceCollector() {
            @Override
            public TeeType tee() {
                return TeeType.SIM;
            }

            @Override
            public byte[] collect(byte[] rd) {
                reportData.set(rd.clone());
                return "evidence".getBytes();
            }
        };
        try {
            NodeKeyPair key = NodeKeyPair.generate();
            Attestor attestor = new Attestor(Optional.of("n1"), collector, key, Optional.empty(), Optional.empty());
            AttestationRefusedException e = assertThrows(AttestationRefusedException.class, () -> attestor.attest(ch));
            assertEquals("PERMISSION_DENIED", e.code());
            assertFalse(e.retryable(), "a policy refusal is final");

            AttestRequest sent = svc.seen.get();
            assertArrayEquals(ReportDataBinding.expected(NONCE, key.subjectPublicKeyInfoDer()), reportData.get());
            PKCS10CertificationRequest csr = new PKCS10CertificationRequest(sent.getCsr().toByteArray());
            assertArrayEquals(key.subjectPublicKeyInfoDer(), csr.getSubjectPublicKeyInfo().getEncoded());
            byte[] wire = sent.toByteArray();
            byte[] scalar = toFixed(((ECPrivateKey) key.privateKey()).getS().toByteArray());
            assertFalse(contains(wire, scalar), "the private key must never leave the node");
            assertFalse(contains(wire, key.privateKey().getEncoded()), "nor its PKCS#8 encoding");
        } finally {
            ch.shutdownNow();
            server.shutdownNow();
        }
    }

    /** A control plane stand-in for Kubernetes: binds the nonce to the pod UID and answers each Attest. */
    static final class KubernetesService extends AttestationServiceGrpc.AttestationServiceImplBase {
        final List<ChallengeRequest> challenges = new CopyOnWriteArrayList<>();
        final List<AttestRequest> attests = new CopyOnWriteArrayList<>();
        volatile String boundNodeId = POD_UID;

        @Override
        public void challenge(ChallengeRequest request, StreamObserver<ChallengeResponse> out) {
            challenges.add(request);
            out.onNext(ChallengeResponse.newBuilder().setNonce(ByteString.copyFrom(NONCE)).setNodeId(boundNodeId).build());
            out.onCompleted();
        }

        @Override
        public void attest(AttestRequest request, StreamObserver<AttestResponse> out) {
            attests.add(request);
            out.onError(Status.PERMISSION_DENIED.withDescription("stand-in issues nothing").asRuntimeException());
        }
    }

    static final String POD_UID = "4b1f0a52-9c1e-4d52-8f0e-2a7c3d9e6b10";

    static final EvidenceCollector SIM = new EvidenceCollector() {
        @Override
        public TeeType tee() {
            return TeeType.SIM;
        }

        @Override
        public byte[] collect(byte[] rd) {
            return "evidence".getBytes();
        }
    };

    @Test
    void sendsTheTokenWithChallengeAndAttestsAsThePodUidTheControlPlaneBound(@TempDir Path dir) throws Exception {
        KubernetesService svc = new KubernetesService();
        Path tokenFile = Files.writeString(dir.resolve("token"), "header.payload-1.signature\n");
        withServer(svc, ch -> {
            NodeKeyPair key = NodeKeyPair.generate();
            Attestor attestor = new Attestor(Optional.empty(), SIM, key, Optional.of(tokenFile),
                    Optional.of("spiffe://mesh.example/ns/payments/sa/api"));
            assertThrows(AttestationRefusedException.class, () -> attestor.attest(ch));
            assertEquals("header.payload-1.signature", svc.challenges.get(0).getServiceAccountToken());
            assertEquals("", svc.challenges.get(0).getNodeId(), "the agent does not invent a node id");
            AttestRequest sent = svc.attests.get(0);
            assertEquals(POD_UID, sent.getNodeId());
            assertEquals("spiffe://mesh.example/ns/payments/sa/api", sent.getSpiffeId());
            PKCS10CertificationRequest csr = new PKCS10CertificationRequest(sent.getCsr().toByteArray());
            assertEquals("CN=" + POD_UID, csr.getSubject().toString());
        });
    }

    @Test
    void rereadsTheTokenFileForEveryAttestation(@TempDir Path dir) throws Exception {
        KubernetesService svc = new KubernetesService();
        Path tokenFile = Files.writeString(dir.resolve("token"), "header.payload-1.signature");
        withServer(svc, ch -> {
            Attestor attestor = new Attestor(Optional.empty(), SIM, NodeKeyPair.generate(), Optional.of(tokenFile),
                    Optional.empty());
            assertThrows(AttestationRefusedException.class, () -> attestor.attest(ch));
            Files.writeString(tokenFile, "header.payload-2.signature"); // the kubelet rotated it
            assertThrows(AttestationRefusedException.class, () -> attestor.attest(ch));
            assertEquals(List.of("header.payload-1.signature", "header.payload-2.signature"),
                    svc.challenges.stream().map(ChallengeRequest::getServiceAccountToken).toList());
            assertEquals("", svc.attests.get(1).getSpiffeId(), "no identity asked for");
        });
    }

    @Test
    void refusesWhenTheControlPlaneBindsAnotherNodeIdThanTheConfiguredOne(@TempDir Path dir) throws Exception {
        KubernetesService svc = new KubernetesService();
        Path tokenFile = Files.writeString(dir.resolve("token"), "header.payload.signature");
        withServer(svc, ch -> {
            Attestor attestor = new Attestor(Optional.of("pod-name"), SIM, NodeKeyPair.generate(), Optional.of(tokenFile),
                    Optional.empty());
            AttestationRefusedException e = assertThrows(AttestationRefusedException.class, () -> attestor.attest(ch));
            assertEquals("MALFORMED", e.code());
            assertTrue(e.getMessage().contains("pod UID"), e.getMessage());
            assertTrue(svc.attests.isEmpty(), "no evidence is sent for a node id the agent did not agree to");
        });
    }

    @Test
    void refusesWhenTheControlPlaneIgnoresTheTokenAndNoNodeIdIsConfigured(@TempDir Path dir) throws Exception {
        KubernetesService svc = new KubernetesService();
        svc.boundNodeId = "";
        Path tokenFile = Files.writeString(dir.resolve("token"), "header.payload.signature");
        withServer(svc, ch -> {
            Attestor attestor = new Attestor(Optional.empty(), SIM, NodeKeyPair.generate(), Optional.of(tokenFile),
                    Optional.empty());
            AttestationRefusedException e = assertThrows(AttestationRefusedException.class, () -> attestor.attest(ch));
            assertFalse(e.retryable());
            assertTrue(svc.attests.isEmpty());
        });
    }

    @Test
    void refusesOversizedTokenFileWithoutSendingIt(@TempDir Path dir) throws Exception {
        KubernetesService svc = new KubernetesService();
        Path tokenFile = Files.writeString(dir.resolve("token"), "a".repeat(Attestor.MAX_TOKEN_BYTES + 1));
        withServer(svc, ch -> {
            Attestor attestor = new Attestor(Optional.empty(), SIM, NodeKeyPair.generate(), Optional.of(tokenFile),
                    Optional.empty());
            AttestationRefusedException e = assertThrows(AttestationRefusedException.class, () -> attestor.attest(ch));
            assertEquals("TOKEN", e.code());
            assertTrue(svc.challenges.isEmpty());
        });
    }

    @Test
    void aMissingTokenFileIsRetryable(@TempDir Path dir) throws Exception {
        withServer(new KubernetesService(), ch -> {
            Attestor attestor = new Attestor(Optional.empty(), SIM, NodeKeyPair.generate(),
                    Optional.of(dir.resolve("not-yet-written")), Optional.empty());
            AttestationRefusedException e = assertThrows(AttestationRefusedException.class, () -> attestor.attest(ch));
            assertEquals("TOKEN", e.code());
            assertTrue(e.retryable(), "the kubelet may not have written the token yet");
        });
    }

    @Test
    void needsANodeIdOrATokenFile() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Attestor(Optional.empty(),
                SIM, NodeKeyPair.generate(), Optional.empty(), Optional.empty()));
        assertTrue(e.getMessage().contains("token file"), e.getMessage());
    }

    interface ChannelBody {
        void run(ManagedChannel ch) throws Exception;
    }

    static void withServer(AttestationServiceGrpc.AttestationServiceImplBase svc, ChannelBody body) throws Exception {
        String name = InProcessServerBuilder.generateName();
        Server server = InProcessServerBuilder.forName(name).directExecutor().addService(svc).build().start();
        ManagedChannel ch = InProcessChannelBuilder.forName(name).directExecutor().build();
        try {
            body.run(ch);
        } finally {
            ch.shutdownNow();
            server.shutdownNow();
        }
    }

    static byte[] toFixed(byte[] big) {
        byte[] out = new byte[32];
        int n = Math.min(32, big.length);
        System.arraycopy(big, big.length - n, out, 32 - n, n);
        return out;
    }

    static boolean contains(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
