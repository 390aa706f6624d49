package dev.attestmesh.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.attestmesh.api.v1.Claims;
import dev.attestmesh.ca.AttestationBoundIssuer;
import dev.attestmesh.ca.AttestationClaims;
import dev.attestmesh.ca.CsrValidator;
import dev.attestmesh.ca.IssuedCertificate;
import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.ca.SpiffeId;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerifiedEvidence;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentSdsServerTest {
    static final String SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

    @TempDir
    Path dir;

    static AgentCredentials credentials(MeshCa ca, NodeKeyPair key) throws Exception {
        VerifiedEvidence ev = new VerifiedEvidence(TeeType.SIM, TcbStatus.UP_TO_DATE, List.of(), false, true,
                new byte[64], Map.of("measurement", "a1".repeat(48)), Map.of(), new byte[32], Optional.empty(),
                Optional.empty());
        IssuedCertificate c = new AttestationBoundIssuer(ca, Clock.systemUTC()).issue(
                CsrValidator.validate(key.csrDer("n1")), SpiffeId.forNode("attestmesh.local", "n1"),
                AttestationClaims.of("n1", ev, List.of(), Instant.now()), Duration.ofHours(1));
        return new AgentCredentials(c.chain(), ca.trustBundle(), Claims.getDefaultInstance(), c.notAfter(),
                c.notAfter());
    }

    @Test
    void servesDefaultAndRootCaOverAUnixSocketAndPushesANewVersionOnRenewal() throws Exception {
        assumeTrue(Epoll.isAvailable(), "Unix domain sockets need Linux epoll");
        MeshCa ca = MeshCa.generate("attestmesh.local", Clock.systemUTC());
        NodeKeyPair key = NodeKeyPair.generate();
        Path socket = dir.resolve("workload-spiffe-uds/socket");
        EpollEventLoopGroup clientGroup = new EpollEventLoopGroup(1);
        try (AgentSdsServer sds = AgentSdsServer.start(socket)) {
            assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
            sds.update(credentials(ca, key), key.privateKeyPem());
            ManagedChannel ch = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                    .channelType(EpollDomainSocketChannel.class).eventLoopGroup(clientGroup).usePlaintext().build();
            LinkedBlockingQueue<DiscoveryResponse> responses = new LinkedBlockingQueue<>();
            StreamObserver<DiscoveryRequest> req = SecretDiscoveryServiceGrpc.newStub(ch).streamSecrets(
                    new StreamObserver<>() {
                        @Override
                        public void onNext(DiscoveryResponse value) {
                            responses.add(value);
                        }

                        @Override
                        public void onError(Throwable t) {}

                        @Override
                        public void onCompleted() {}
                    });
            DiscoveryRequest.Builder ask = DiscoveryRequest.newBuilder().setNode(Node.newBuilder().setId("sidecar~1"))
                    .setTypeUrl(SECRET_TYPE).addResourceNames("default").addResourceNames("ROOTCA");
            req.onNext(ask.build());
            DiscoveryResponse first = responses.poll(10, TimeUnit.SECONDS);
            assertEquals(2, first.getResourcesCount());
            Secret def = first.getResources(0).unpack(Secret.class).getName().equals("default")
                    ? first.getResources(0).unpack(Secret.class) : first.getResources(1).unpack(Secret.class);
            assertTrue(def.getTlsCertificate().getPrivateKey().getInlineBytes().toStringUtf8()
                    .startsWith("-----BEGIN PRIVATE KEY-----"));
            req.onNext(ask.setVersionInfo(first.getVersionInfo()).setResponseNonce(first.getNonce()).build());

            sds.update(credentials(ca, key), key.privateKeyPem()); // renewal
            DiscoveryResponse second = responses.poll(10, TimeUnit.SECONDS);
            assertNotEquals(first.getVersionInfo(), second.getVersionInfo());
            req.onCompleted();
            ch.shutdownNow();
        } finally {
            clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        assertTrue(Files.notExists(socket), "socket removed on close");
    }
}
