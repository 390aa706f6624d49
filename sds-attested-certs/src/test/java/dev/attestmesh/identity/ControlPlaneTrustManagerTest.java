package dev.attestmesh.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.ca.ServerCertificateIssuer;
import java.security.KeyPairGenerator;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The pin clients put on the control plane's certificate, without a network (the gRPC case is in node-agent). */
class ControlPlaneTrustManagerTest {
    final MeshCa ca = MeshCa.generate("mesh.example", Clock.systemUTC());

    @Test
    void derivesTheTrustDomainFromTheMeshRoot() {
        assertEquals("mesh.example", ControlPlaneTrustManager.trustDomainOf(ca.trustBundle()));
        assertEquals("spiffe://mesh.example/attestmesh/control-plane",
                ControlPlaneTrustManager.pinning(ca.trustBundle()).expectedIdentity().uri());
        assertThrows(IllegalArgumentException.class, () -> ControlPlaneTrustManager.trustDomainOf(
                List.of(ca.issuingIntermediate())), "no root in the bundle");
    }

    @Test
    void acceptsTheControlPlaneAndRefusesAnotherTrustDomainsControlPlane() throws Exception {
        X509Certificate[] chain = serverChain(ca, "mesh.example");
        ControlPlaneTrustManager.pinning(ca.trustBundle()).checkServerTrusted(chain, "ECDHE_ECDSA");
        CertificateException e = assertThrows(CertificateException.class,
                () -> ControlPlaneTrustManager.pinning(ca.trustBundle(), "other.example").checkServerTrusted(chain, "ECDHE_ECDSA"));
        assertTrue(e.getMessage().contains("spiffe://other.example/attestmesh/control-plane"), e.getMessage());
        assertThrows(CertificateException.class,
                () -> ControlPlaneTrustManager.pinning(ca.trustBundle()).checkClientTrusted(chain, "ECDHE_ECDSA"));
    }

    @Test
    void refusesAControlPlaneCertificateFromAnotherCa() throws Exception {
        MeshCa other = MeshCa.generate("mesh.example", Clock.systemUTC());
        X509Certificate[] chain = serverChain(other, "mesh.example");
        assertThrows(CertificateException.class,
                () -> ControlPlaneTrustManager.pinning(ca.trustBundle()).checkServerTrusted(chain, "ECDHE_ECDSA"));
    }

    static X509Certificate[] serverChain(MeshCa ca, String td) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return ServerCertificateIssuer.issue(ca, td, g.generateKeyPair().getPublic(), List.of("cp"), Duration.ofHours(1),
                Clock.systemUTC()).toArray(X509Certificate[]::new);
    }
}
