package dev.attestmesh.agent;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import dev.attestmesh.identity.ControlPlaneTrustManager;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLException;

/**
 * gRPC channels to the control plane. The server is always authenticated against the mesh trust
 * bundle and must present the reserved control-plane identity {@code spiffe://<td>/attestmesh/control-plane}
 * ({@link ControlPlaneTrustManager}): a node leaf of the same CA is refused, so an attested node with a
 * network position cannot pose as the control plane. A client certificate is presented when the node has
 * one (ADS/SDS require it, the first attestation cannot have one).
 */
public final class ControlPlaneChannels {
    private ControlPlaneChannels() {}

    /** A client identity: the node key and its certificate chain. */
    public record ClientIdentity(PrivateKey key, List<X509Certificate> chain) {}

    /**
     * Opens a channel pinning the control plane of the trust domain the bundle's mesh root names
     * ({@link ControlPlaneTrustManager#trustDomainOf}).
     *
     * @param target {@code host:port}
     * @param trustBundle certificates that may sign the control plane's server certificate chain
     */
    public static ManagedChannel open(String target, List<X509Certificate> trustBundle,
            Optional<ClientIdentity> client) {
        return open(target, ControlPlaneTrustManager.pinning(trustBundle), client);
    }

    /**
     * @param target {@code host:port}
     * @param trust PKIX validation against the mesh bundle plus the control-plane identity pin
     */
    public static ManagedChannel open(String target, ControlPlaneTrustManager trust, Optional<ClientIdentity> client) {
        HostPort.parse(target); // fail early with a clear message
        try {
            SslContextBuilder ssl = GrpcSslContexts.forClient().trustManager(trust);
            client.ifPresent(c -> ssl.keyManager(c.key(), c.chain().toArray(X509Certificate[]::new)));
            return NettyChannelBuilder.forTarget(target).sslContext(ssl.build())
                    .maxInboundMessageSize(4 * 1024 * 1024).build();
        } catch (SSLException e) {
            throw new IllegalStateException("cannot set up TLS to the control plane: " + e.getMessage(), e);
        }
    }

    /** A {@code host:port} pair, validated. */
    public record HostPort(String host, int port) {
        public static HostPort parse(String s) {
            int i = s == null ? -1 : s.lastIndexOf(':');
            if (i <= 0 || i == s.length() - 1) {
                throw new IllegalArgumentException("control plane address '" + s + "' must be HOST:PORT");
            }
            int port;
            try {
                port = Integer.parseInt(s.substring(i + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("control plane port in '" + s + "' is not a number");
            }
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("control plane port " + port + " is outside 1..65535");
            }
            return new HostPort(s.substring(0, i), port);
        }
    }
}
