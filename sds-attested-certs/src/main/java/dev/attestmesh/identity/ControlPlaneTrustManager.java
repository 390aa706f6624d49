package dev.attestmesh.identity;

import dev.attestmesh.ca.SpiffeId;
import java.io.IOException;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The trust a client of the control plane needs: the server's chain must pass PKIX validation against
 * the mesh trust bundle <em>and</em> its leaf's only URI SAN must be the reserved control-plane identity
 * {@code spiffe://<td>/attestmesh/control-plane}. PKIX alone is not enough: every attested node holds a
 * leaf of the same CA (with serverAuth, for mesh traffic), and one with a suitable network position could
 * otherwise answer as the control plane.
 *
 * <p>For TLS clients only: client certificates are never trusted by this manager. Thread-safe.
 */
public final class ControlPlaneTrustManager extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager pkix;
    private final SpiffeId expected;

    private ControlPlaneTrustManager(X509ExtendedTrustManager pkix, SpiffeId expected) {
        this.pkix = pkix;
        this.expected = expected;
    }

    /**
     * A manager trusting {@code trustBundle} and pinning the control plane of {@code trustDomain}.
     *
     * @throws IllegalArgumentException when the bundle is empty or the trust domain is invalid
     */
    public static ControlPlaneTrustManager pinning(List<X509Certificate> trustBundle, String trustDomain) {
        if (trustBundle.isEmpty()) {
            throw new IllegalArgumentException("the mesh trust bundle is empty; pass the control plane's ca-bundle.pem");
        }
        SpiffeId expected = ReservedIdentities.controlPlane(trustDomain);
        try {
            KeyStore anchors = KeyStore.getInstance("PKCS12");
            anchors.load(null, null);
            for (int i = 0; i < trustBundle.size(); i++) {
                anchors.setCertificateEntry("mesh-" + i, trustBundle.get(i));
            }
            TrustManagerFactory f = TrustManagerFactory.getInstance("PKIX");
            f.init(anchors);
            for (TrustManager tm : f.getTrustManagers()) {
                if (tm instanceof X509ExtendedTrustManager x) {
                    return new ControlPlaneTrustManager(x, expected);
                }
            }
            throw new IllegalStateException("the JVM's PKIX trust manager factory returned no X509 trust manager");
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build a trust manager from the mesh trust bundle: " + e.getMessage(), e);
        }
    }

    /**
     * A manager for the trust domain named by the bundle's root: the mesh root's subject carries the trust
     * domain as its single {@code OU} (see docs/certificate-profile.md), so a client holding only the
     * bundle knows which control plane to expect.
     *
     * @throws IllegalArgumentException when the bundle has no mesh root naming a trust domain
     */
    public static ControlPlaneTrustManager pinning(List<X509Certificate> trustBundle) {
        return pinning(trustBundle, trustDomainOf(trustBundle));
    }

    /**
     * The trust domain named by the first self-signed certificate of {@code trustBundle} (its single OU).
     *
     * @throws IllegalArgumentException when there is no such root or its OU is not a valid trust domain
     */
    public static String trustDomainOf(List<X509Certificate> trustBundle) {
        for (X509Certificate c : trustBundle) {
            if (!c.getSubjectX500Principal().equals(c.getIssuerX500Principal())) {
                continue;
            }
            String ou = null;
            int count = 0;
            try {
                for (Rdn rdn : new LdapName(c.getSubjectX500Principal().getName()).getRdns()) {
                    if (rdn.getType().equalsIgnoreCase("OU")) {
                        ou = String.valueOf(rdn.getValue());
                        count++;
                    }
                }
            } catch (InvalidNameException e) {
                continue;
            }
            if (count == 1) {
                try {
                    SpiffeId.validateTrustDomain(ou);
                    return ou;
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("the mesh root's OU '" + ou + "' is not a SPIFFE trust domain;"
                            + " is this an AttestMesh ca-bundle.pem?", e);
                }
            }
        }
        throw new IllegalArgumentException("the trust bundle holds no AttestMesh root naming its trust domain"
                + " (a self-signed certificate with one OU); pass the control plane's ca-bundle.pem");
    }

    /** The identity the server must present. */
    public SpiffeId expectedIdentity() {
        return expected;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        requireControlPlane(chain); // first, so the refusal names the pin rather than a host name mismatch
        pkix.checkServerTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        requireControlPlane(chain); // first, so the refusal names the pin rather than a host name mismatch
        pkix.checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        requireControlPlane(chain); // first, so the refusal names the pin rather than a host name mismatch
        pkix.checkServerTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw notForServers();
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        throw notForServers();
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        throw notForServers();
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return pkix.getAcceptedIssuers();
    }

    private void requireControlPlane(X509Certificate[] chain) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateException("the server presented no certificate; expected the control plane identity "
                    + expected.uri());
        }
        List<String> uris = ReservedClientCertificates.uriSans(chain[0]);
        if (uris.size() != 1 || !uris.getFirst().equals(expected.uri())) {
            throw new CertificateException("the server's certificate names " + (uris.isEmpty() ? "no SPIFFE ID" : uris)
                    + ", not the control plane identity " + expected.uri() + ": it is not this mesh's control plane"
                    + " (check the address, or that the control plane runs with trust domain '"
                    + expected.trustDomain() + "')");
        }
    }

    private static CertificateException notForServers() {
        return new CertificateException("ControlPlaneTrustManager authenticates the control plane to its clients;"
                + " it does not accept client certificates");
    }
}
