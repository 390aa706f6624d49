package dev.attestmesh.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
import java.security.interfaces.ECPrivateKey;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.Test;

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
            Attestor attestor = new Attestor("n1", collector, key, Optional.empty(), Optional.empty());
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
