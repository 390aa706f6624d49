package dev.attestmesh.agent;

import com.google.protobuf.ByteString;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.sds.SdsNames;
import dev.attestmesh.sds.SdsSecretFactory;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Serves SDS on a Unix domain socket inside the TEE, the way Istio's proxies expect a workload
 * identity provider to ({@code /var/run/secrets/workload-spiffe-uds/socket}, resources {@code default}
 * and {@code ROOTCA}). Built on java-control-plane; every renewal publishes a new version, so Envoy
 * rotates without restarting.
 *
 * <p>Unlike the control plane's SDS, which refers to the key by file name, this SDS carries the private
 * key inline, as Istio's own agent and SPIRE do: the socket never leaves the TEE and is created with
 * mode 0660 in a directory only the workload's containers share.
 */
public final class AgentSdsServer implements AutoCloseable {
    /** Istio's default socket path for a workload identity provider. */
    public static final Path ISTIO_SOCKET = Path.of("/var/run/secrets/workload-spiffe-uds/socket");
    private static final String GROUP = "workload";

    private final SimpleCache<String> cache = new SimpleCache<>(node -> GROUP);
    private final AtomicLong version = new AtomicLong();
    private final Server server;
    private final EventLoopGroup group;
    private final Path socket;

    private AgentSdsServer(Path socket) throws IOException {
        if (!Epoll.isAvailable()) {
            throw new IOException("Unix domain socket SDS needs Linux epoll, which is unavailable here: "
                    + Epoll.unavailabilityCause().getMessage());
        }
        this.socket = socket;
        Files.createDirectories(socket.toAbsolutePath().getParent());
        Files.deleteIfExists(socket); // a stale socket from a previous run would make bind fail
        V3DiscoveryServer xds = new V3DiscoveryServer(cache);
        this.group = new EpollEventLoopGroup(1);
        this.server = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelType(EpollServerDomainSocketChannel.class)
                .bossEventLoopGroup(group)
                .workerEventLoopGroup(group)
                .addService(xds.getSecretDiscoveryServiceImpl())
                .addService(xds.getAggregatedDiscoveryServiceImpl())
                .build()
                .start();
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw----"));
    }

    /** Starts serving on {@code socket}; secrets are served once {@link #update} was called. */
    public static AgentSdsServer start(Path socket) throws IOException {
        return new AgentSdsServer(socket);
    }

    /** Publishes a new version of {@code default} and {@code ROOTCA}. */
    public void update(AgentCredentials creds, String privateKeyPem) {
        Secret tls = Secret.newBuilder().setName(SdsNames.DEFAULT).setTlsCertificate(TlsCertificate.newBuilder()
                .setCertificateChain(DataSource.newBuilder().setInlineString(Pem.certificates(creds.chain())))
                .setPrivateKey(DataSource.newBuilder()
                        .setInlineBytes(ByteString.copyFrom(privateKeyPem, StandardCharsets.US_ASCII))))
                .build();
        Secret root = SdsSecretFactory.rootCa(creds.trustBundle());
        cache.setSnapshot(GROUP, Snapshot.create(List.of(), List.of(), List.of(), List.of(), List.of(tls, root),
                Long.toString(version.incrementAndGet())));
    }

    public Path socket() {
        return socket;
    }

    @Override
    public void close() {
        server.shutdown();
        try {
            // SDS streams to the proxy never end by themselves: wait only for a FetchSecrets in progress
            server.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            server.shutdownNow();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            try {
                Files.deleteIfExists(socket);
            } catch (IOException e) {
                // best effort: the next start removes it
            }
        }
    }
}
