package dev.attestmesh.server.demo;

import dev.attestmesh.agent.ControlPlaneChannels.ClientIdentity;
import dev.attestmesh.agent.NodeAgent;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * Opens one mutually authenticated TLS 1.3 connection between two attested nodes on loopback, each
 * presenting the certificate AttestMesh issued to it and trusting only the mesh trust bundle: what the
 * two Envoys do on the data path.
 */
public final class MutualTlsProbe {
    private MutualTlsProbe() {}

    /**
     * The client node sends one line; the server node answers with the SPIFFE ID it saw on the client's
     * certificate followed by the line.
     */
    public static String exchange(NodeAgent server, NodeAgent client, String line) throws Exception {
        SSLContext serverCtx = context(server);
        SSLContext clientCtx = context(client);
        try (SSLServerSocket ss = (SSLServerSocket) serverCtx.getServerSocketFactory()
                .createServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            ss.setNeedClientAuth(true);
            ss.setEnabledProtocols(new String[] {"TLSv1.3"});
            ss.setSoTimeout(10_000);
            CompletableFuture<Void> served = CompletableFuture.runAsync(() -> serveOne(ss));
            try (SSLSocket s = (SSLSocket) clientCtx.getSocketFactory().createSocket(ss.getInetAddress(),
                    ss.getLocalPort())) {
                s.setSoTimeout(10_000);
                s.setEnabledProtocols(new String[] {"TLSv1.3"});
                s.startHandshake();
                PrintWriter w = new PrintWriter(s.getOutputStream(), true, StandardCharsets.UTF_8);
                w.println(line);
                String reply = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8))
                        .readLine();
                served.get(10, TimeUnit.SECONDS);
                return reply;
            }
        }
    }

    private static void serveOne(SSLServerSocket ss) {
        try (SSLSocket s = (SSLSocket) ss.accept()) {
            s.startHandshake();
            X509Certificate peer = (X509Certificate) s.getSession().getPeerCertificates()[0];
            String line = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8))
                    .readLine();
            new PrintWriter(s.getOutputStream(), true, StandardCharsets.UTF_8).println(spiffeId(peer) + ": " + line);
        } catch (IOException e) {
            throw new IllegalStateException("mTLS server side failed: " + e.getMessage(), e);
        }
    }

    /** The URI SAN of a mesh certificate. */
    public static String spiffeId(X509Certificate cert) {
        try {
            for (List<?> san : cert.getSubjectAlternativeNames()) {
                if (Integer.valueOf(6).equals(san.get(0))) {
                    return (String) san.get(1);
                }
            }
        } catch (CertificateParsingException e) {
            throw new IllegalStateException(e);
        }
        return "(no URI SAN)";
    }

    private static SSLContext context(NodeAgent agent) throws GeneralSecurityException, IOException {
        ClientIdentity id = agent.clientIdentity().orElseThrow(() ->
                new IllegalStateException("node has not attested yet"));
        List<X509Certificate> bundle = agent.credentials().orElseThrow().trustBundle();
        char[] pw = "transient".toCharArray();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("node", id.key(), pw, id.chain().toArray(X509Certificate[]::new));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
        kmf.init(ks, pw);
        KeyStore ts = KeyStore.getInstance("PKCS12");
        ts.load(null, null);
        for (int i = 0; i < bundle.size(); i++) {
            ts.setCertificateEntry("mesh-" + i, bundle.get(i));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(ts);
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }
}
