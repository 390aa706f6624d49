package dev.attestmesh.authz;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.attestmesh.ca.IssuedCertificate;
import java.util.List;
import java.util.Map;

/**
 * Feeds arbitrary CheckRequests (raw protobuf bytes, or a genuine request with a mutated
 * certificate) to the decider: it must never throw and must never allow a peer that does not
 * present the genuine certificate (or the registered principal when no certificate is sent).
 * Without {@code JAZZER_FUZZ=1} this runs the seed inputs only (regression mode).
 */
class AuthzDeciderFuzzTest {
    private static final MeshFixture MESH = new MeshFixture();
    private static final IssuedCertificate GENUINE;
    private static final String GENUINE_ENCODED;
    private static final String GENUINE_PRINCIPAL = "spiffe://mesh.example/node/node-1";
    private static final AuthzDecider DECIDER;

    static {
        try {
            GENUINE = MESH.attest("node-1", Map.of("default", 1L));
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
        GENUINE_ENCODED = MeshFixture.envoyEncode(GENUINE.leaf());
        DECIDER = new AuthzDecider(MESH.registry, MESH.clock, 1000);
    }

    @FuzzTest(maxDuration = "20s")
    void neverThrowsAndNeverAllowsWithoutGenuineCertificateOrPrincipal(FuzzedDataProvider data) {
        CheckFields req;
        if (data.consumeBoolean()) {
            byte[] wire = data.consumeBytes(4096);
            try {
                req = CheckFields.decode(wire, 0, wire.length); // as the gRPC binding reads a request
            } catch (InvalidProtocolBufferException e) {
                return;
            }
        } else {
            String cert = GENUINE_ENCODED;
            int edits = data.consumeInt(0, 4);
            for (int i = 0; i < edits && !cert.isEmpty(); i++) {
                int at = data.consumeInt(0, cert.length() - 1);
                cert = cert.substring(0, at) + data.consumeAsciiString(3) + cert.substring(at + 1);
            }
            req = CheckFields.of(MeshFixture.network(cert, data.consumeBoolean() ? GENUINE_PRINCIPAL
                    : data.consumeAsciiString(40)));
        }
        List<String> header = data.consumeBoolean() ? List.of("default") : List.of(data.consumeAsciiString(10));
        Decision d = DECIDER.decide(req, header);
        assertNotNull(d);
        if (d instanceof Decision.Allow) {
            String cert = new String(req.certificate(), java.nio.charset.StandardCharsets.UTF_8);
            // Genuine: the certificate the decider admitted is, byte for byte, the one the CA issued (the
            // PEM around it may differ only in whitespace the decider ignores).
            boolean genuineCert;
            try {
                genuineCert = java.util.Arrays.equals(dev.attestmesh.authz.peer.EnvoyPeerCertificate.decode(cert)
                        .getEncoded(), GENUINE.leaf().getEncoded());
            } catch (java.security.cert.CertificateException e) {
                genuineCert = false;
            }
            boolean genuinePrincipal = cert.isEmpty() && req.sourcePrincipal().equals(GENUINE_PRINCIPAL);
            assertTrue(genuineCert || genuinePrincipal, "allowed a peer without the genuine certificate: " + req);
        }
    }
}
