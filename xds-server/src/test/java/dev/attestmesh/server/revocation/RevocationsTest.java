package dev.attestmesh.server.revocation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.AttestationRefusedException;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.EvidenceVerifier;
import dev.attestmesh.quote.EvidenceVerifiers;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.sim.SimulatedEvidenceVerifier;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.ControlPlaneSettings;
import dev.attestmesh.server.demo.DemoAuthzClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Each kind of revocation rule against a running control plane: the matching node is denied on the
 * next ext_authz Check and its next attestation is refused naming the rule. Simulated evidence always
 * reports UpToDate without advisories, so the test's verifier gives the measurement {@link #DATED}
 * TCB status OutOfDate with advisory INTEL-SA-00837 (both tolerated by the policy).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RevocationsTest {
    static final String CURRENT = "a1".repeat(48);
    static final String DATED = "c3".repeat(48);
    /**
     * The asking Envoy's measurement: accepted by 'default' only, so no rule below revokes the checker (a revoked
     * Envoy may no longer call ext_authz at all).
     */
    static final String CHECKER = "e5".repeat(48);
    static final String ADVISORY = "INTEL-SA-00837";

    Path dir;
    ControlPlane cp;
    NodeAgent checker;
    AgentCredentials checkerCreds;

    /** The simulator's verifier, with a dated TCB for one measurement. */
    record DatedTcbVerifier(EvidenceVerifier sim) implements EvidenceVerifier {
        @Override
        public TeeType tee() {
            return TeeType.SIM;
        }

        @Override
        public VerifiedEvidence verify(VerificationRequest r) throws EvidenceVerificationException {
            VerifiedEvidence e = sim.verify(r);
            if (!e.primaryMeasurement().equals(DATED)) {
                return e;
            }
            return new VerifiedEvidence(e.tee(), TcbStatus.OUT_OF_DATE, List.of(ADVISORY), e.debug(), e.insecure(),
                    e.reportData(), e.measurements(), e.numbers(), e.evidenceSha256(), e.fmspcOrChip(),
                    e.platformId());
        }
    }

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("attestmesh-revocations");
        Path policies = dir.resolve("policies.yaml");
        Files.writeString(policies, """
                policies:
                  - id: default
                    tee: [sim]
                    tcbStatus: [UpToDate, OutOfDate]
                    advisoryIds: [%s]
                    reference:
                      sim:
                        measurement: ["%s", "%s", "%s"]
                  - id: gold
                    tee: [sim]
                    reference:
                      sim:
                        measurement: ["%s"]
                """.formatted(ADVISORY, CURRENT, DATED, CHECKER, CURRENT));
        cp = ControlPlane.start(ControlPlaneSettings.forTests(dir.resolve("cp"), Optional.of(policies)).withRegistrationFile(Optional.of(dev.attestmesh.server.testing.TestMesh.writeRegistrations(dir))).withDevMode(true), Clock.systemUTC(),
                EvidenceVerifiers.of(new DatedTcbVerifier(SimulatedEvidenceVerifier.withDefaultKey())));
        checker = agent("checker", CHECKER);
        checkerCreds = checker.attestOnce();
    }

    @AfterAll
    void stop() throws Exception {
        if (cp != null) {
            cp.close();
        }
        try (var s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    NodeAgent agent(String id, String measurement) throws Exception {
        return new NodeAgent(new NodeAgent.Settings(id, "127.0.0.1:" + cp.grpcPort(),
                Pem.parseCertificates(Files.readString(cp.caBundleFile())), dir.resolve("nodes").resolve(id),
                Optional.empty(), Optional.empty()), SimulatedTee.withMeasurementHex(measurement), Clock.systemUTC());
    }

    DemoAuthzClient.Result check(AgentCredentials peer) {
        try (DemoAuthzClient authz = new DemoAuthzClient("127.0.0.1:" + cp.grpcPort(), checker)) {
            return authz.check(peer.leaf(), checkerCreds.claims().getSpiffeId(), List.of("default"));
        }
    }

    /** Attests a node, applies the rule, and checks: revoked, denied at once, refused on re-attestation. */
    void revokeDenyRefuse(String nodeId, String measurement, RevocationKind kind, String value) throws Exception {
        NodeAgent node = agent(nodeId, measurement);
        AgentCredentials creds = node.attestOnce();
        assertTrue(check(creds).allowed(), "allowed before the rule");
        Revocations.Applied applied = cp.revocations().add(kind, value, "test " + kind, "test");
        assertTrue(applied.revokedNodes().contains(nodeId), applied.toString());
        assertEquals(NodeState.REVOKED, cp.registry().entry(nodeId).orElseThrow().state());
        DemoAuthzClient.Result denied = check(creds);
        assertFalse(denied.allowed(), "denied on the next Check");
        AttestationRefusedException refused = assertThrows(AttestationRefusedException.class, node::attestOnce);
        assertEquals("PERMISSION_DENIED", refused.code());
        cp.revocations().remove(applied.rule().id()).orElseThrow();
    }

    @Test
    void nodeRuleRevokesDeniesRefusesAndLiftingItLetsTheNodeAttestAgain() throws Exception {
        revokeDenyRefuse("by-node", CURRENT, RevocationKind.NODE, "by-node");
        assertEquals(NodeState.EXPIRED, cp.registry().entry("by-node").orElseThrow().state(), "lifted, not re-admitted");
        NodeAgent again = agent("by-node", CURRENT);
        AgentCredentials fresh = again.attestOnce();
        assertTrue(check(fresh).allowed(), "admitted after a fresh attestation");
    }

    @Test
    void measurementRuleRevokesEveryNodeWithThatMeasurement() throws Exception {
        revokeDenyRefuse("by-measurement", DATED, RevocationKind.MEASUREMENT, DATED.toUpperCase());
        assertEquals(NodeState.ATTESTED, cp.registry().entry("checker").orElseThrow().state(), "other measurement kept");
    }

    @Test
    void policyRuleRevokesEveryNodeHoldingThePolicy() throws Exception {
        // 'gold' accepts only CURRENT; a DATED node satisfies 'default' alone and must be left alone.
        NodeAgent dated = agent("holds-default-only", DATED);
        dated.attestOnce();
        revokeDenyRefuse("by-policy", CURRENT, RevocationKind.POLICY, "gold");
        assertEquals(NodeState.ATTESTED, cp.registry().entry("holds-default-only").orElseThrow().state(),
                "a node without the policy is kept");
        assertEquals(NodeState.ATTESTED, cp.registry().entry("checker").orElseThrow().state(),
                "the checker does not hold 'gold'");
    }

    @Test
    void tcbStatusRuleRevokesNodesWithThatStatus() throws Exception {
        revokeDenyRefuse("by-tcb", DATED, RevocationKind.TCB_STATUS, "outofdate");
    }

    @Test
    void advisoryRuleRevokesNodesWhoseTcbListsTheAdvisory() throws Exception {
        revokeDenyRefuse("by-advisory", DATED, RevocationKind.ADVISORY, ADVISORY.toLowerCase());
    }

    @Test
    void refusalNamesTheRule() throws Exception {
        Revocations.Applied rule = cp.revocations().add(RevocationKind.NODE, "never-seen", "stolen host", "test");
        try {
            AttestationRefusedException e = assertThrows(AttestationRefusedException.class,
                    () -> agent("never-seen", CURRENT).attestOnce());
            assertTrue(e.getMessage().contains(rule.rule().id()), e.getMessage());
            assertTrue(e.getMessage().contains("stolen host"), e.getMessage());
            assertTrue(cp.registry().entry("never-seen").isEmpty(), "nothing recorded for a refused node");
        } finally {
            cp.revocations().remove(rule.rule().id());
        }
    }

    @Test
    void rulesArePersistedAndDeletedFromTheStore() throws Exception {
        Revocations.Applied rule = cp.revocations().add(RevocationKind.MEASUREMENT, "ff".repeat(48), "persisted", "test");
        try {
            List<RevocationRule> stored = new RevocationStore(cp.database()).loadAll();
            assertTrue(stored.contains(rule.rule()), stored.toString());
        } finally {
            cp.revocations().remove(rule.rule().id());
        }
        assertTrue(new RevocationStore(cp.database()).loadAll().stream().noneMatch(r -> r.id().equals(rule.rule().id())));
    }

    @Test
    void invalidRuleValuesAreRejectedWithWhatIsExpected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> cp.revocations().add(RevocationKind.TCB_STATUS, "Shiny", "", "test"));
        assertTrue(e.getMessage().contains("UpToDate"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> cp.revocations().add(RevocationKind.MEASUREMENT, "abc", "", "t"));
        assertThrows(IllegalArgumentException.class, () -> cp.revocations().add(RevocationKind.NODE, "a b", "", "t"));
    }
}
