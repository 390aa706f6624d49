package dev.attestmesh.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.ChallengeRequest;
import dev.attestmesh.api.v1.ChallengeResponse;
import dev.attestmesh.ca.AttestMeshOids;
import dev.attestmesh.ca.AttestationBoundIssuer;
import dev.attestmesh.ca.AttestationClaims;
import dev.attestmesh.ca.CsrValidator;
import dev.attestmesh.ca.IssuedCertificate;
import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.ca.ServerCertificateIssuer;
import dev.attestmesh.ca.SpiffeId;
import dev.attestmesh.policy.PolicyRef;
import dev.attestmesh.quote.TeeType;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The agent's channel trusts only the control plane: a server on 127.0.0.1 presenting a genuine node leaf
 * of the same mesh CA (serverAuth and clientAuth, attestation claims) is refused; the control plane's own
 * certificate ({@code spiffe://<td>/attestmesh/control-plane}) is accepted.
 */
class ControlPlaneChannelsTest {
    static final String TD = "attestmesh.local";
    static final byte[] NONCE = new byte[32];

    private final List<Server> servers = new ArrayList<>();
    private final List<ManagedChannel> channels = new ArrayList<>();
    private final MeshCa ca = MeshCa.generate(TD, Clock.systemUTC());

    @AfterEach
    void stop() throws InterruptedException {
        channels.forEach(ManagedChannel::shutdownNow);
        for (Server s : servers) {
            s.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void refusesAServerPresentingANodeLeafOfTheSameMeshCaAndNamesThePinnedIdentity() throws Exception {
        KeyPair key = p256();
        IssuedCertificate node = new AttestationBoundIssuer(ca, Clock.systemUTC()).issue(CsrValidator.validate(csr(key)),
                SpiffeId.forNode(TD, "evil"), claims(), Duration.ofHours(1));
        // a genuine node leaf: it could serve mesh traffic, and it carries attestation claims
        assertTrue(node.leaf().getExtendedKeyUsage().contains("1.3.6.1.5.5.7.3.1"), "serverAuth");
        assertTrue(node.leaf().getExtendedKeyUsage().contains("1.3.6.1.5.5.7.3.2"), "clientAuth");
        assertTrue(node.leaf().getNonCriticalExtensionOIDs().contains(AttestMeshOids.CLAIMS_EXTENSION));
        int port = serve(key.getPrivate(), node.chain());

        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> challenge(port));
        String causes = causes(e);
        assertTrue(causes.contains("spiffe://" + TD + "/attestmesh/control-plane"), causes);
        assertTrue(causes.contains("spiffe://" + TD + "/node/evil"), causes);
    }

    @Test
    void acceptsTheControlPlaneCertificate() throws Exception {
        KeyPair key = p256();
        List<X509Certificate> chain = ServerCertificateIssuer.issue(ca, TD, key.getPublic(), List.of("127.0.0.1"),
                Duration.ofHours(1), Clock.systemUTC());
        int port = serve(key.getPrivate(), chain);
        assertEquals(ByteString.copyFrom(NONCE), challenge(port).getNonce());
    }

    @Test
    void refusesTheControlPlaneOfAnotherTrustDomain() throws Exception {
        MeshCa other = MeshCa.generate("other.example", Clock.systemUTC());
        KeyPair key = p256();
        int port = serve(key.getPrivate(), ServerCertificateIssuer.issue(other, "other.example", key.getPublic(),
                List.of("127.0.0.1"), Duration.ofHours(1), Clock.systemUTC()));
        ManagedChannel ch = ControlPlaneChannels.open("127.0.0.1:" + port,
                dev.attestmesh.identity.ControlPlaneTrustManager.pinning(other.trustBundle(), TD), Optional.empty());
        channels.add(ch);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> AttestationServiceGrpc
                .newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS).challenge(ChallengeRequest.getDefaultInstance()));
        assertTrue(causes(e).contains("spiffe://" + TD + "/attestmesh/control-plane"), causes(e));
    }

    private ChallengeResponse challenge(int port) {
        ManagedChannel ch = ControlPlaneChannels.open("127.0.0.1:" + port, ca.trustBundle(), Optional.empty());
        channels.add(ch);
        return AttestationServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                .challenge(ChallengeRequest.newBuilder().setNodeId("n").build());
    }

    private int serve(PrivateKey key, List<X509Certificate> chain) throws Exception {
        Server s = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .sslContext(GrpcSslContexts.configure(SslContextBuilder.forServer(key, chain.toArray(X509Certificate[]::new)))
                        .build())
                .addService(new AttestationServiceGrpc.AttestationServiceImplBase() {
                    @Override
                    public void challenge(ChallengeRequest request, StreamObserver<ChallengeResponse> out) {
                        out.onNext(ChallengeResponse.newBuilder().setNonce(ByteString.copyFrom(NONCE)).build());
                        out.onCompleted();
                    }
                })
                .build().start();
        servers.add(s);
        return s.getPort();
    }

    private static String causes(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            sb.append(c).append('\n');
        }
        return sb.toString();
    }

    private static KeyPair p256() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    private static byte[] csr(KeyPair kp) throws Exception {
        return new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=node"), kp.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())).getEncoded();
    }

    private static AttestationClaims claims() {
        return new AttestationClaims(1, "evil", TeeType.SIM, Map.of("measurement", "ab".repeat(48)), "UpToDate",
                List.of(), List.of(new PolicyRef("default", 1)), new byte[32], java.time.Instant.now(), false, false);
    }
}
