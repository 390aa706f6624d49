package dev.attestmesh.server.admin;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.device.EvidenceCollectionException;
import dev.attestmesh.quote.sim.SimulatedEvidenceVerifier;
import dev.attestmesh.quote.sim.SimulatedTee;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ControlPlaneAttestationTest {
    final MeshCa ca = MeshCa.generate("attestmesh.local", Clock.systemUTC());

    @Test
    void evidenceBindsTheRootCertificateHashAndTheCallerNonce() throws Exception {
        byte[] nonce = new byte[32];
        nonce[0] = 7;
        ControlPlaneAttestation cpa = new ControlPlaneAttestation(ca::root, () -> SimulatedTee.withMeasurementHex("a1".repeat(48)));
        ControlPlaneAttestation.Statement s = cpa.attest(nonce);

        byte[] rootSha = MessageDigest.getInstance("SHA-256").digest(ca.root().getEncoded());
        ByteArrayOutputStream in = new ByteArrayOutputStream();
        in.writeBytes("attestmesh-cp-v1".getBytes(StandardCharsets.US_ASCII));
        in.writeBytes(rootSha);
        in.writeBytes(nonce);
        byte[] expected = MessageDigest.getInstance("SHA-512").digest(in.toByteArray());
        assertArrayEquals(rootSha, s.rootSha256());
        assertArrayEquals(expected, s.reportData());
        VerifiedEvidence v = SimulatedEvidenceVerifier.withDefaultKey().verify(new VerificationRequest(TeeType.SIM,
                s.evidence(), Optional.empty(), Instant.now()));
        assertArrayEquals(expected, v.reportData(), "the evidence itself carries the binding");
        assertEquals(TeeType.SIM, s.tee());
    }

    @Test
    void outsideATeeTheDetectorsFindingsArePassedOn() {
        ControlPlaneAttestation cpa = new ControlPlaneAttestation(ca::root, () -> {
            throw new EvidenceCollectionException("no usable TEE interface found; looked for: /dev/sev-guest: absent");
        });
        EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class, () -> cpa.attest(new byte[32]));
        assertTrue(e.getMessage().contains("/dev/sev-guest"));
        assertThrows(IllegalArgumentException.class, () -> cpa.attest(new byte[31]));
    }
}
