package dev.attestmesh.server.attest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.AttestationRefusedException;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.device.EvidenceCollector;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ControlPlaneFixture;
import dev.attestmesh.server.demo.DemoAuthzClient;
import java.nio.file.Files;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class FailedRenewalTest {
    static final String GOOD = ControlPlaneFixture.GOOD;

    /** A TEE whose measurement changes between attestations (say, the workload was replaced). */
    static final class SwitchableTee implements EvidenceCollector {
        final AtomicReference<SimulatedTee> current = new AtomicReference<>(SimulatedTee.withMeasurementHex(GOOD));

        @Override
        public TeeType tee() {
            return TeeType.SIM;
        }

        @Override
        public byte[] collect(byte[] reportData) {
            return current.get().collect(reportData);
        }
    }

    @Test
    void renewalWhoseEvidenceNoLongerSatisfiesAnyPolicyWithdrawsTheIdentity() throws Exception {
        try (ControlPlaneFixture f = ControlPlaneFixture.start(ControlPlaneFixture.simPolicy("default", GOOD),
                Map.of())) {
            var bundle = Pem.parseCertificates(Files.readString(f.cp.caBundleFile()));
            SwitchableTee tee = new SwitchableTee();
            NodeAgent node = new NodeAgent(new NodeAgent.Settings("drifter", f.target(), bundle,
                    f.dir.resolve("drifter"), Optional.empty(), Optional.empty()), tee, Clock.systemUTC());
            AgentCredentials creds = node.attestOnce();
            NodeAgent peer = f.agent("peer", GOOD);
            AgentCredentials peerCreds = peer.attestOnce();

            // Someone without the node's certificate claims its id with failing evidence: nothing changes.
            NodeAgent impostor = f.agent("drifter", "0c".repeat(48));
            assertThrows(AttestationRefusedException.class, impostor::attestOnce);
            assertEquals(NodeState.ATTESTED, f.cp.registry().entry("drifter").orElseThrow().state());

            // The node itself renews (over mTLS with its current certificate) with evidence that fails.
            tee.current.set(SimulatedTee.withMeasurementHex("0d".repeat(48)));
            AttestationRefusedException e = assertThrows(AttestationRefusedException.class, node::attestOnce);
            assertEquals("PERMISSION_DENIED", e.code());
            var entry = f.cp.registry().entry("drifter").orElseThrow();
            assertEquals(NodeState.EXPIRED, entry.state());
            assertTrue(entry.stateReason().startsWith("identity withdrawn"), entry.stateReason());
            try (DemoAuthzClient authz = new DemoAuthzClient(f.target(), peer)) {
                assertFalse(authz.check(creds.leaf(), peerCreds.claims().getSpiffeId(), List.of("default")).allowed(),
                        "the old certificate no longer passes ext_authz");
            }
        }
    }
}
