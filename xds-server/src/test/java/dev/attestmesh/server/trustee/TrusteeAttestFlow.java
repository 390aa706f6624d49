package dev.attestmesh.server.trustee;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.AttestationRefusedException;
import dev.attestmesh.server.ControlPlaneFixture;
import dev.attestmesh.server.registry.NodeEntry;
import java.nio.file.Files;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code verifier: trustee} through the real attest flow: a node agent on the simulated TEE attests over
 * gRPC, the control plane forwards its evidence and binding to an attestation service on loopback (over the
 * API a subclass names), and issues the identity only on a token that verifies; each kind of bad answer is
 * refused naming its check, and nothing is stored.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class TrusteeAttestFlow {
    TestAttestationService as;
    private ControlPlaneFixture cp;

    /** The AS address policies and configuration name ({@code https://...} REST or {@code grpc://...}). */
    abstract String address();

    /** Prefix of this class's node ids. */
    abstract String nodePrefix();

    @BeforeAll
    void start() throws Exception {
        as = new TestAttestationService();
        java.nio.file.Path dir = Files.createTempDirectory("attestmesh-trustee");
        String policy = """
                policies:
                  - id: default
                    tee: [sim]
                    verifier: trustee
                    asAddr: %s
                    policyIds: [attestmesh]
                    reference:
                      sim:
                        ear.tv.executables: [2, 3]
                """.formatted(address());
        cp = ControlPlaneFixture.start(policy, Map.of(
                "attestmesh.trustee.services", "main",
                "attestmesh.trustee.main.address", address(),
                "attestmesh.trustee.main.token-key-file", as.writeKey(dir).toString(),
                "attestmesh.trustee.timeout", "1s"));
    }

    @AfterAll
    void stop() {
        cp.close();
        as.close();
    }

    @Test
    void issuesTheIdentityOnAnAffirmingTokenThatBindsTheNonce() throws Exception {
        as.mode = TestAttestationService.Mode.GOOD;
        AgentCredentials creds = cp.agent(nodePrefix() + "ok", ControlPlaneFixture.GOOD).attestOnce();
        assertTrue(creds.chain().getFirst().getSubjectAlternativeNames().toString()
                .contains("spiffe://attestmesh.local/node/" + nodePrefix() + "ok"), creds.chain().getFirst().toString());
        NodeEntry e = cp.cp.registry().entry(nodePrefix() + "ok").orElseThrow();
        assertEquals(1L, e.evidence().numbers().get("verifier.delegated"));
        assertTrue(e.evidence().numbers().entrySet().stream()
                .anyMatch(en -> en.getKey().endsWith(".ear.status") && en.getValue() == 2L), e.evidence().numbers().toString());
    }

    @ParameterizedTest
    @CsvSource({
            "FOREIGN_KEY, SIGNATURE",
            "WRONG_REPORT_DATA, BINDING",
            "EXPIRED, TIME",
            "CONTRAINDICATED, CONTRAINDICATED",
            "UNKNOWN_CLAIMS, CLAIMS",
            "OVERSIZED, TOO_LARGE",
            "SLOW, TIMEOUT"})
    void refusesABadAnswerNamingTheCheckAndStoresNothing(TestAttestationService.Mode mode, String check) {
        as.mode = mode;
        String node = nodePrefix() + mode.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        AttestationRefusedException e = assertThrows(AttestationRefusedException.class,
                () -> cp.agent(node, ControlPlaneFixture.GOOD).attestOnce());
        assertTrue(e.getMessage().contains("check " + check), e.getMessage());
        assertFalse(cp.cp.registry().entry(node).isPresent(), "nothing stored for a refused attestation");
    }
}
