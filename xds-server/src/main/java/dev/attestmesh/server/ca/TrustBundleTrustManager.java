package dev.attestmesh.server.ca;

import java.io.IOException;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The control plane's TLS server trust for client certificates, following the mesh CA's <em>current</em>
 * trust bundle: PKIX validation against whatever {@code bundle} returns at the handshake. A TLS context
 * built once with a fixed bundle would keep trusting only the intermediates of start-up time; with this
 * one, node certificates from an intermediate rotated in after start are accepted, and a retired
 * intermediate stops being an anchor once its overlap ends.
 *
 * <p>For the server side only: it trusts no server. The PKIX manager is rebuilt only when the bundle
 * changes (compared by content), not at every handshake. Thread-safe.
 */
public final class TrustBundleTrustManager extends X509ExtendedTrustManager {
    private record Anchors(List<X509Certificate> bundle, X509ExtendedTrustManager pkix) {}

    private final Supplier<List<X509Certificate>> bundle;
    private volatile Anchors anchors;

    /** @param bundle the current mesh trust bundle (root, issuing intermediate, intermediates in overlap) */
    public TrustBundleTrustManager(Supplier<List<X509Certificate>> bundle) {
        this.bundle = Objects.requireNonNull(bundle);
        this.anchors = build(bundle.get());
    }

    private X509ExtendedTrustManager pkix() {
        List<X509Certificate> now = bundle.get();
        Anchors a = anchors;
        if (!a.bundle().equals(now)) {
            a = build(now);
            anchors = a;
        }
        return a.pkix();
    }

    private static Anchors build(List<X509Certificate> bundle) {
        if (bundle.isEmpty()) {
            throw new IllegalStateException("the mesh trust bundle is empty; no client certificate could be trusted");
        }
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            for (int i = 0; i < bundle.size(); i++) {
                ks.setCertificateEntry("mesh-" + i, bundle.get(i));
            }
            TrustManagerFactory f = TrustManagerFactory.getInstance("PKIX");
            f.init(ks);
            for (TrustManager tm : f.getTrustManagers()) {
                if (tm instanceof X509ExtendedTrustManager x) {
                    return new Anchors(List.copyOf(bundle), x);
                }
            }
            throw new IllegalStateException("the JVM's PKIX trust manager factory returned no X509 trust manager");
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build a trust manager from the mesh trust bundle: " + e.getMessage(),
                    e);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        pkix().checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        pkix().checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        pkix().checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        throw new CertificateException("the control plane's server trust manager trusts no server");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        throw new CertificateException("the control plane's server trust manager trusts no server");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("the control plane's server trust manager trusts no server");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return pkix().getAcceptedIssuers();
    }
}
