package dev.attestmesh.server.xds;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Puts the TLS peer's verified certificate chain into the call's {@link Context}, so xDS callbacks
 * can tie a stream to the attested node by its certificate rather than by the node id it claims.
 */
public final class PeerCertificateInterceptor implements ServerInterceptor {
    private static final Context.Key<X509Certificate[]> PEER_CHAIN = Context.key("attestmesh-peer-chain");

    /** The current call's verified peer chain (leaf first), if the client presented one. */
    public static Optional<X509Certificate[]> currentPeerChain() {
        return Optional.ofNullable(PEER_CHAIN.get());
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        X509Certificate[] chain = null;
        if (session != null) {
            try {
                Certificate[] certs = session.getPeerCertificates();
                chain = new X509Certificate[certs.length];
                for (int i = 0; i < certs.length; i++) {
                    chain[i] = (X509Certificate) certs[i];
                }
            } catch (SSLPeerUnverifiedException e) {
                chain = null; // no client certificate: allowed for the attestation service only
            }
        }
        if (chain == null || chain.length == 0) {
            return next.startCall(call, headers);
        }
        return Contexts.interceptCall(Context.current().withValue(PEER_CHAIN, chain), call, headers, next);
    }
}
