package dev.attestmesh.server.xds;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Puts the TLS peer's verified certificate chain into the call's {@link Context}, so xDS callbacks
 * can tie a stream to the attested node by its certificate rather than by the node id it claims; and
 * the peer's network address, which the attestation service's per-address Challenge limits key on.
 */
public final class PeerCertificateInterceptor implements ServerInterceptor {
    private static final Context.Key<X509Certificate[]> PEER_CHAIN = Context.key("attestmesh-peer-chain");
    private static final Context.Key<SocketAddress> PEER_ADDRESS = Context.key("attestmesh-peer-address");
    /** Name of the {@link SSLSession} value holding the session's verified peer chain. */
    private static final String SESSION_CHAIN = "dev.attestmesh.peer-chain";
    private static final X509Certificate[] NO_CHAIN = new X509Certificate[0];

    /** The current call's verified peer chain (leaf first), if the client presented one. */
    public static Optional<X509Certificate[]> currentPeerChain() {
        return Optional.ofNullable(PEER_CHAIN.get());
    }

    /** The current call's remote address, as the transport reports it. */
    public static Optional<SocketAddress> currentPeerAddress() {
        return Optional.ofNullable(PEER_ADDRESS.get());
    }

    /**
     * The session's verified peer chain (leaf first), empty when the client presented none. Computed once
     * per TLS session and kept in it: without a client certificate {@link SSLSession#getPeerCertificates}
     * throws, and an exception with its stack trace on every unauthenticated call (each Challenge, each
     * first Attest) is a measurable share of an attestation.
     */
    static X509Certificate[] verifiedChain(SSLSession session) {
        if (session.getValue(SESSION_CHAIN) instanceof X509Certificate[] cached) {
            return cached;
        }
        X509Certificate[] chain;
        try {
            Certificate[] certs = session.getPeerCertificates();
            chain = new X509Certificate[certs.length];
            for (int i = 0; i < certs.length; i++) {
                chain[i] = (X509Certificate) certs[i];
            }
        } catch (SSLPeerUnverifiedException e) {
            chain = NO_CHAIN; // no client certificate: allowed for the attestation service only
        }
        session.putValue(SESSION_CHAIN, chain);
        return chain;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        X509Certificate[] chain = session == null ? null : verifiedChain(session);
        Context context = Context.current();
        SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
        if (remote != null) {
            context = context.withValue(PEER_ADDRESS, remote);
        }
        if (chain != null && chain.length > 0) {
            context = context.withValue(PEER_CHAIN, chain);
        }
        return Contexts.interceptCall(context, call, headers, next);
    }
}
