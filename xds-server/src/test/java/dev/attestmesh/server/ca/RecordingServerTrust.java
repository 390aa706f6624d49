package dev.attestmesh.server.ca;

import dev.attestmesh.identity.ControlPlaneTrustManager;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A control plane client's trust (the real {@link ControlPlaneTrustManager}: PKIX to the bundle and the
 * control-plane SPIFFE ID pinned) that also records the server chain of every handshake, so a test sees
 * which serving certificate each new connection got.
 */
final class RecordingServerTrust extends X509ExtendedTrustManager {
    private final ControlPlaneTrustManager delegate;
    final List<X509Certificate[]> handshakes = new CopyOnWriteArrayList<>();

    RecordingServerTrust(List<X509Certificate> bundle) {
        this.delegate = ControlPlaneTrustManager.pinning(bundle);
    }

    /** The serving certificates seen, one per handshake. */
    List<X509Certificate> leaves() {
        return handshakes.stream().map(c -> c[0]).toList();
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        handshakes.add(chain.clone());
        delegate.checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        handshakes.add(chain.clone());
        delegate.checkServerTrusted(chain, authType, engine);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        handshakes.add(chain.clone());
        delegate.checkServerTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        delegate.checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        delegate.checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        delegate.checkClientTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return delegate.getAcceptedIssuers();
    }
}
