package dev.attestmesh.server.ca;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.agent.NodeKeyPair;
import dev.attestmesh.ca.CsrValidator;
import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.ca.ReservedClientCertificateIssuer;
import dev.attestmesh.server.testing.SettableClock;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The control plane's client-certificate trust follows the CA's current bundle: a client presenting only
 * its leaf is accepted when the leaf's intermediate is in the bundle (rotated in after start, or retired but
 * in overlap) and refused once that intermediate has left it. A trust manager fixed at start would refuse
 * leaves of an intermediate rotated in later.
 */
class TrustBundleTrustManagerTest {

    @Test
    void followsTheCurrentBundleThroughARotationAndTheEndOfTheOverlap() throws Exception {
        SettableClock clock = new SettableClock(Instant.now());
        MeshCaHolder holder = new MeshCaHolder(MeshCa.generate("attestmesh.local", clock), clock);
        TrustBundleTrustManager current = new TrustBundleTrustManager(holder::trustBundle);
        List<X509Certificate> atStart = holder.trustBundle();
        TrustBundleTrustManager fixedAtStart = new TrustBundleTrustManager(() -> atStart);

        X509Certificate oldLeaf = clientLeaf(holder.ca(), clock);
        current.checkClientTrusted(new X509Certificate[] {oldLeaf}, "ECDHE_ECDSA");

        holder.replace(holder.ca().rotateIntermediate(Duration.ofHours(1)));
        X509Certificate newLeaf = clientLeaf(holder.ca(), clock);
        current.checkClientTrusted(new X509Certificate[] {newLeaf}, "ECDHE_ECDSA");
        assertThrows(CertificateException.class,
                () -> fixedAtStart.checkClientTrusted(new X509Certificate[] {newLeaf}, "ECDHE_ECDSA"),
                "a bundle fixed at start does not know the new intermediate");
        current.checkClientTrusted(new X509Certificate[] {oldLeaf}, "ECDHE_ECDSA"); // overlap

        clock.advance(Duration.ofMinutes(61));
        assertThrows(CertificateException.class,
                () -> current.checkClientTrusted(new X509Certificate[] {oldLeaf}, "ECDHE_ECDSA"),
                "the retired intermediate is no longer an anchor after its overlap");
        current.checkClientTrusted(new X509Certificate[] {newLeaf}, "ECDHE_ECDSA");

        CertificateException server = assertThrows(CertificateException.class,
                () -> current.checkServerTrusted(new X509Certificate[] {newLeaf}, "ECDHE_ECDSA"));
        assertTrue(server.getMessage().contains("trusts no server"), server.getMessage());
    }

    private static X509Certificate clientLeaf(MeshCa ca, Clock clock) throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        return ReservedClientCertificateIssuer.issue(ca, CsrValidator.validate(key.csrDer("gateway")),
                ReservedClientCertificateIssuer.Kind.ADMIN, "gateway", Duration.ofDays(1), clock).leaf();
    }
}
