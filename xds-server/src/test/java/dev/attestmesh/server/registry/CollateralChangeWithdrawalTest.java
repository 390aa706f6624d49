package dev.attestmesh.server.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.EvidenceVerifier;
import dev.attestmesh.quote.EvidenceVerifiers;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.collateral.CollateralChange;
import dev.attestmesh.quote.collateral.CollateralChanges;
import dev.attestmesh.quote.sim.SimulatedEvidenceVerifier;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.ControlPlaneSettings;
import dev.attestmesh.server.demo.DemoAuthzClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Re-appraisal on new collateral through a running control plane: nodes attest over gRPC, the
 * collateral source changes under the control plane, {@link ControlPlane#refreshCollateral()} runs (as
 * its hourly schedule does), and the node whose TCB the new collateral judges OutOfDate loses its
 * identity at once (SDS snapshot withdrawn, ext_authz denies) while the others keep theirs.
 *
 * <p>Real hardware evidence cannot bind a fresh nonce, so the nodes run on the simulator and the test's
 * verifier gives their TCB status from a swappable "TCB table" announced through the same {@link
 * CollateralChanges} hub the Intel and AMD caches use; the verifiers' own re-appraisal against real
 * vectors is tested in quote-native ({@code CollateralReappraisalTest}, {@code SnpReappraisalTest}).
 */
class CollateralChangeWithdrawalTest {
    static final String ALPHA = "a1".repeat(48);
    static final String BETA = "b2".repeat(48);
    static final String CHECKER = "e5".repeat(48);

    /** A collateral source: TCB status per measurement, with a refresher that announces changes. */
    static final class TcbTable {
        final AtomicReference<Map<String, TcbStatus>> source = new AtomicReference<>(Map.of());
        volatile Map<String, TcbStatus> held = Map.of();

        TcbTable(CollateralChanges hub) {
            hub.addRefresher(() -> {
                Map<String, TcbStatus> next = source.get();
                if (!next.equals(held)) {
                    held = next;
                    hub.publish(new CollateralChange("test TCB table", Set.of(TeeType.SIM), Optional.empty()));
                }
            });
        }

        TcbStatus status(String measurement) {
            return held.getOrDefault(measurement, TcbStatus.UP_TO_DATE);
        }
    }

    /** The simulator's verifier whose TCB status comes from the table, at verification and re-appraisal. */
    record TableVerifier(EvidenceVerifier sim, TcbTable table) implements EvidenceVerifier {
        @Override
        public TeeType tee() {
            return TeeType.SIM;
        }

        @Override
        public VerifiedEvidence verify(VerificationRequest r) throws EvidenceVerificationException {
            VerifiedEvidence e = sim.verify(r);
            return e.withTcb(table.status(e.primaryMeasurement()), List.of());
        }

        @Override
        public VerifiedEvidence reappraise(VerifiedEvidence stored, Instant at) {
            return stored.withTcb(table.status(stored.primaryMeasurement()), List.of());
        }
    }

    @Test
    void nodesJudgedOutOfDateByNewCollateralLoseTheirIdentityAndTheOthersKeepIt() throws Exception {
        Path dir = Files.createTempDirectory("attestmesh-collateral-change");
        Path policies = dir.resolve("policies.yaml");
        Files.writeString(policies, """
                policies:
                  - id: default
                    tee: [sim]
                    tcbStatus: [UpToDate]
                    reference:
                      sim:
                        measurement: ["%s", "%s", "%s"]
                """.formatted(ALPHA, BETA, CHECKER));
        CollateralChanges hub = new CollateralChanges();
        TcbTable table = new TcbTable(hub);
        EvidenceVerifiers verifiers = EvidenceVerifiers.of(new TableVerifier(SimulatedEvidenceVerifier.withDefaultKey(),
                table)).withCollateralChanges(hub);
        ControlPlane cp = ControlPlane.start(ControlPlaneSettings.forTests(dir.resolve("cp"), Optional.of(policies))
                .withRegistrationFile(Optional.of(dev.attestmesh.server.testing.TestMesh.writeRegistrations(dir)))
                .withDevMode(true), Clock.systemUTC(), verifiers);
        try {
            NodeAgent checker = agent(cp, dir, "checker", CHECKER);
            AgentCredentials checkerCreds = checker.attestOnce();
            AgentCredentials alpha = agent(cp, dir, "alpha", ALPHA).attestOnce();
            AgentCredentials beta = agent(cp, dir, "beta", BETA).attestOnce();
            try (DemoAuthzClient authz = new DemoAuthzClient("127.0.0.1:" + cp.grpcPort(), checker)) {
                String me = checkerCreds.claims().getSpiffeId();
                assertTrue(authz.check(alpha.leaf(), me, List.of("default")).allowed());
                assertTrue(authz.check(beta.leaf(), me, List.of("default")).allowed());
                assertNotNull(cp.xdsCache().getSnapshot("beta"), "beta has its SDS secrets");

                cp.refreshCollateral(); // nothing changed at the source: nobody is touched
                assertTrue(hub.awaitDelivered(10, TimeUnit.SECONDS));
                assertEquals(NodeState.ATTESTED, cp.registry().entry("beta").orElseThrow().state());

                // New collateral: beta's platform TCB is now OutOfDate, which 'default' does not accept.
                table.source.set(Map.of(BETA, TcbStatus.OUT_OF_DATE));
                cp.refreshCollateral();
                assertTrue(hub.awaitDelivered(10, TimeUnit.SECONDS));

                NodeEntry b = cp.registry().entry("beta").orElseThrow();
                assertEquals(NodeState.EXPIRED, b.state());
                assertTrue(b.stateReason().contains("new collateral (test TCB table)"), b.stateReason());
                assertEquals(TcbStatus.OUT_OF_DATE, b.evidence().tcbStatus());
                assertNull(cp.xdsCache().getSnapshot("beta"), "beta's SDS snapshot is withdrawn");
                DemoAuthzClient.Result denied = authz.check(beta.leaf(), me, List.of("default"));
                assertFalse(denied.allowed());
                assertTrue(denied.detail().contains("node 'beta' is EXPIRED"), denied.detail());

                assertEquals(NodeState.ATTESTED, cp.registry().entry("alpha").orElseThrow().state());
                assertNotNull(cp.xdsCache().getSnapshot("alpha"), "alpha keeps its SDS secrets");
                assertTrue(authz.check(alpha.leaf(), me, List.of("default")).allowed(), "alpha keeps its identity");
            }
        } finally {
            cp.close();
            try (var s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static NodeAgent agent(ControlPlane cp, Path dir, String id, String measurement) throws Exception {
        return new NodeAgent(new NodeAgent.Settings(id, "127.0.0.1:" + cp.grpcPort(),
                Pem.parseCertificates(Files.readString(cp.caBundleFile())), dir.resolve("nodes").resolve(id),
                Optional.empty(), Optional.empty()), SimulatedTee.withMeasurementHex(measurement), Clock.systemUTC());
    }
}
