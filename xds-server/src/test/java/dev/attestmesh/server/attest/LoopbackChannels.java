package dev.attestmesh.server.attest;

import dev.attestmesh.agent.ControlPlaneChannels;
import dev.attestmesh.identity.ControlPlaneTrustManager;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLException;

/**
 * Channels to a control plane on 127.0.0.1 whose connections start from a chosen loopback address
 * (127.0.0.2, 127.0.0.3, ...), so that one test process looks like several peer addresses to the
 * per-address Challenge limits. Linux routes all of 127.0.0.0/8 to the loopback interface.
 */
final class LoopbackChannels {
    private LoopbackChannels() {}

    static ManagedChannel from(String localAddress, int port, List<X509Certificate> bundle,
            Optional<ControlPlaneChannels.ClientIdentity> client) {
        return from(localAddress, port, bundle, client, false);
    }

    /** @param direct run callbacks on the transport thread (load generators with cheap callbacks) */
    static ManagedChannel from(String localAddress, int port, List<X509Certificate> bundle,
            Optional<ControlPlaneChannels.ClientIdentity> client, boolean direct) {
        try {
            SslContextBuilder ssl = GrpcSslContexts.forClient().trustManager(ControlPlaneTrustManager.pinning(bundle));
            client.ifPresent(c -> ssl.keyManager(c.key(), c.chain().toArray(X509Certificate[]::new)));
            NettyChannelBuilder b = NettyChannelBuilder.forAddress("127.0.0.1", port).overrideAuthority("localhost");
            if (direct) {
                b.directExecutor();
            }
            return b.sslContext(ssl.build())
                    .localSocketPicker(new NettyChannelBuilder.LocalSocketPicker() {
                        @Override
                        public java.net.SocketAddress createSocketAddress(java.net.SocketAddress remote,
                                io.grpc.Attributes attrs) {
                            return new InetSocketAddress(localAddress, 0);
                        }
                    })
                    .build();
        } catch (SSLException e) {
            throw new IllegalStateException(e);
        }
    }
}
