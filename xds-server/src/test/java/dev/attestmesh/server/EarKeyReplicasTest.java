package dev.attestmesh.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ear.NodeEarWriter;
import dev.attestmesh.server.registry.NodeEntry;
import dev.attestmesh.server.store.DatabaseSettings;
import dev.attestmesh.server.store.TestPostgres;
import dev.attestmesh.server.testing.TestMesh;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * EAR out across replicas and restarts, with whole control planes: two replicas on one PostgreSQL schema publish the
 * same JWKS and a relying party holding either's verifies the other's EAR for an attested node; a restart on the same
 * embedded store keeps the {@code kid}.
 */
class EarKeyReplicasTest {
    @TempDir
    Path dir;
    final List<AutoCloseable> open = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    private ControlPlane start(String name, Optional<DatabaseSettings> db) throws Exception {
        Path policies = Files.writeString(dir.resolve("policies.yaml"), TestMesh.POLICIES);
        ControlPlaneSettings s = ControlPlaneSettings.forTests(dir.resolve(name), Optional.of(policies))
                .withRegistrationFile(Optional.of(TestMesh.writeRegistrations(dir))).withDevMode(true);
        ControlPlane cp = ControlPlane.start(db.map(s::withDatabase).orElse(s), Clock.systemUTC(),
                EvidenceVerifierSet.defaults());
        open.add(cp);
        return cp;
    }

    private static Map<String, Object> verify(String token, ControlPlane publisher) throws Exception {
        // The relying party's view: the JWKS document as served, parsed back.
        JWKSet served = JWKSet.parse(publisher.earSigningKey().publicJwks().toString());
        DefaultJWTProcessor<SecurityContext> rp = new DefaultJWTProcessor<>();
        rp.setJWSKeySelector(new JWSVerificationKeySelector<>(JWSAlgorithm.ES256, new ImmutableJWKSet<>(served)));
        JWTClaimsSet claims = rp.process(token, null);
        return claims.getClaims();
    }

    @Test
    void twoReplicasOnOneStorePublishOneJwksAndVerifyEachOthersEar() throws Exception {
        DatabaseSettings pg = TestPostgres.freshSchema(); // skips without a PostgreSQL
        ControlPlane a = start("a", Optional.of(pg));
        ControlPlane b = start("b", Optional.of(pg));
        assertEquals(a.earSigningKey().publicJwks().toString(), b.earSigningKey().publicJwks().toString());
        assertEquals(a.earSigningKey().kid(), b.earSigningKey().kid());

        NodeAgent agent = new NodeAgent(new NodeAgent.Settings("web", "127.0.0.1:" + a.grpcPort(), a.trustBundle(),
                dir.resolve("nodes").resolve("web"), Optional.empty(), Optional.empty()),
                SimulatedTee.withMeasurementHex(TestMesh.GOOD), Clock.systemUTC());
        open.add(agent);
        agent.attestOnce();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (b.registry().entry("web").isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        NodeEntry onA = a.registry().entry("web").orElseThrow();
        NodeEntry onB = b.registry().entry("web").orElseThrow(() -> new AssertionError("b never saw the node"));

        String fromA = new NodeEarWriter(a.earSigningKey(), "test").token(onA, Instant.now());
        String fromB = new NodeEarWriter(b.earSigningKey(), "test").token(onB, Instant.now());
        assertTrue(verify(fromA, b).containsKey("submods"));
        assertTrue(verify(fromB, a).containsKey("submods"));
    }

    @Test
    void aRestartOnTheSameDataKeepsTheKid() throws Exception {
        ControlPlane first = start("one", Optional.empty());
        String kid = first.earSigningKey().kid();
        String jwks = first.earSigningKey().publicJwks().toString();
        open.remove(first);
        first.close();
        ControlPlane again = start("one", Optional.empty());
        assertEquals(kid, again.earSigningKey().kid());
        assertEquals(jwks, again.earSigningKey().publicJwks().toString());
    }
}
