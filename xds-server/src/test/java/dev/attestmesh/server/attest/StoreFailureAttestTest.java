package dev.attestmesh.server.attest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.agent.AttestationRefusedException;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.issuance.IssuanceLogEntry;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.ControlPlaneSettings;
import dev.attestmesh.server.EvidenceVerifierSet;
import dev.attestmesh.server.store.DatabaseSettings;
import dev.attestmesh.server.store.TestPostgres;
import dev.attestmesh.server.testing.TestMesh;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Clock;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An Attest whose store write fails (PostgreSQL refuses it: here a trigger injects the failure into the issuance log
 * or the node table) is answered {@code UNAVAILABLE}, never {@code INTERNAL}, with no certificate and no node
 * record; once the store works again the same agent attests without anyone's help.
 */
class StoreFailureAttestTest {
    private Path dir;
    private DatabaseSettings pg;
    private ControlPlane cp;

    @BeforeEach
    void start() throws Exception {
        pg = TestPostgres.freshSchema();
        dir = Files.createTempDirectory("attestmesh-store-failure");
        Files.writeString(dir.resolve("policies.yaml"), TestMesh.POLICIES);
        cp = ControlPlane.start(ControlPlaneSettings.forTests(dir.resolve("cp"), Optional.of(dir.resolve("policies.yaml")))
                .withRegistrationFile(Optional.of(TestMesh.writeRegistrations(dir))).withDevMode(true).withDatabase(pg),
                Clock.systemUTC(), EvidenceVerifierSet.defaults());
    }

    @AfterEach
    void stop() throws Exception {
        if (cp != null) {
            cp.close();
        }
        if (dir == null) {
            return; // skipped before setup: no PostgreSQL
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void aFailedIssuanceLogWriteAnswersUnavailableAndLeavesNothingThenTheAgentRecovers() throws Exception {
        NodeAgent agent = agent("payments");
        long logBefore = logSize();
        failInserts("issuance_log");
        AttestationRefusedException e = assertThrows(AttestationRefusedException.class, agent::attestOnce);
        assertEquals("UNAVAILABLE", e.code(), e.getMessage());
        assertTrue(e.getMessage().contains("state store is unavailable") && e.retryable(), e.getMessage());
        assertTrue(cp.registry().entry("payments").isEmpty(), "no node record without its log entry");
        assertEquals(logBefore, logSize(), "nothing appended to the log");

        healInserts("issuance_log");
        agent.attestOnce();
        assertTrue(cp.registry().entry("payments").isPresent());
        assertTrue(cp.issuanceLog().verify().intact());
    }

    @Test
    void aFailedNodeRecordWriteAnswersUnavailableWithoutARecordThenTheAgentRecovers() throws Exception {
        NodeAgent agent = agent("orders");
        failInserts("nodes");
        AttestationRefusedException e = assertThrows(AttestationRefusedException.class, agent::attestOnce);
        assertEquals("UNAVAILABLE", e.code(), e.getMessage());
        assertTrue(cp.registry().entry("orders").isEmpty(), "the registry holds nothing for the refused node");

        healInserts("nodes");
        agent.attestOnce();
        assertTrue(cp.registry().entry("orders").isPresent());
        assertTrue(cp.issuanceLog().verify().intact(), "the log written before the failed record still verifies");
    }

    private NodeAgent agent(String id) {
        return new NodeAgent(new NodeAgent.Settings(id, "127.0.0.1:" + cp.grpcPort(), cp.trustBundle(),
                dir.resolve("nodes").resolve(id), Optional.empty(), Optional.empty()),
                SimulatedTee.withMeasurementHex(TestMesh.GOOD), Clock.systemUTC());
    }

    private long logSize() {
        return cp.issuanceLog().head().map(IssuanceLogEntry::sequence).orElse(0L);
    }

    private void failInserts(String table) throws Exception {
        sql("CREATE OR REPLACE FUNCTION injected_failure() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION "
                + "'injected store failure'; END $$ LANGUAGE plpgsql");
        sql("CREATE TRIGGER injected_failure BEFORE INSERT OR UPDATE ON " + table
                + " FOR EACH ROW EXECUTE FUNCTION injected_failure()");
    }

    private void healInserts(String table) throws Exception {
        sql("DROP TRIGGER injected_failure ON " + table);
    }

    private void sql(String statement) throws Exception {
        try (Connection c = DriverManager.getConnection(pg.url().orElseThrow()); Statement s = c.createStatement()) {
            s.execute(statement);
        }
    }
}
