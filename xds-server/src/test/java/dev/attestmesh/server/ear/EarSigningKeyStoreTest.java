package dev.attestmesh.server.ear;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import dev.attestmesh.server.secrets.SecretVault;
import dev.attestmesh.server.store.Database;
import dev.attestmesh.server.store.EarKeyStore;
import dev.attestmesh.server.store.TestPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The EAR signing key at rest: kept across restarts, one key for replicas racing on an empty store, sealed so that
 * another CA key, an altered row or a changed {@code kid} stops the start and writes nothing.
 */
class EarSigningKeyStoreTest {
    private static final SecretVault VAULT = SecretVault.fromCaKey("the-ca-key-of-this-mesh".toCharArray());

    @TempDir
    Path dir;

    private static String signedBy(EarSigningKey key) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(key.kid()).build(),
                new JWTClaimsSet.Builder().subject("node-1").expirationTime(new Date(System.currentTimeMillis() + 60_000))
                        .build());
        jwt.sign(new ECDSASigner(key.privateKey()));
        return jwt.serialize();
    }

    private static String verifiedSubject(String token, EarSigningKey publisher) throws Exception {
        DefaultJWTProcessor<SecurityContext> rp = new DefaultJWTProcessor<>();
        rp.setJWSKeySelector(new JWSVerificationKeySelector<>(JWSAlgorithm.ES256,
                new ImmutableJWKSet<>(com.nimbusds.jose.jwk.JWKSet.parse(publisher.publicJwks().toString()))));
        return rp.process(token, null).getSubject();
    }

    private static List<byte[]> rows(Database db) {
        return db.inTransaction(c -> {
            List<byte[]> out = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT sealed FROM ear_signing_keys");
                    ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getBytes(1));
                }
            }
            return out;
        });
    }

    @Test
    void restartOnTheSameDataKeepsTheKeyAndItsKid() throws Exception {
        String kid;
        String token;
        try (Database db = Database.embedded(dir)) {
            EarSigningKey first = EarSigningKey.loadOrCreate(new EarKeyStore(db), VAULT, Clock.systemUTC());
            kid = first.kid();
            token = signedBy(first);
        }
        try (Database db = Database.embedded(dir)) {
            EarSigningKey again = EarSigningKey.loadOrCreate(new EarKeyStore(db), VAULT, Clock.systemUTC());
            assertEquals(kid, again.kid());
            assertEquals("node-1", verifiedSubject(token, again), "a token from before the restart verifies after it");
            assertEquals(1, rows(db).size());
        }
    }

    @Test
    void theStoredKeyIsSealedNotInTheClear() {
        try (Database db = Database.embedded(dir)) {
            EarSigningKey k = EarSigningKey.loadOrCreate(new EarKeyStore(db), VAULT, Clock.systemUTC());
            String stored = new String(rows(db).getFirst(), java.nio.charset.StandardCharsets.ISO_8859_1);
            String d = k.privateKey().getD().toString();
            assertTrue(stored.startsWith("AMSECV1") && !stored.contains(d) && !stored.contains("\"d\""));
        }
    }

    @Test
    void anotherCaKeyDoesNotOpenTheStoredKeyAndWritesNothing() {
        try (Database db = Database.embedded(dir)) {
            String kid = EarSigningKey.loadOrCreate(new EarKeyStore(db), VAULT, Clock.systemUTC()).kid();
            byte[] before = rows(db).getFirst();
            SecretVault other = SecretVault.fromCaKey("another-ca-key".toCharArray());
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> EarSigningKey.loadOrCreate(new EarKeyStore(db), other, Clock.systemUTC()));
            assertTrue(e.getMessage().contains("does not open"), e.getMessage());
            assertEquals(1, rows(db).size());
            assertArrayEquals(before, rows(db).getFirst(), "the stored key is left as it was");
            assertEquals(kid, EarSigningKey.loadOrCreate(new EarKeyStore(db), VAULT, Clock.systemUTC()).kid(),
                    "the right CA key still opens it");
        }
    }

    @Test
    void aRowWhoseKidWasChangedOrSealedBytesAlteredIsRefused() {
        try (Database db = Database.embedded(dir)) {
            EarSigningKey.loadOrCreate(new EarKeyStore(db), VAULT, Clock.systemUTC());
            db.inTransaction(c -> c.createStatement().executeUpdate("UPDATE ear_signing_keys SET kid = 'attacker-kid'"));
            assertThrows(IllegalStateException.class,
                    () -> EarSigningKey.loadOrCreate(new EarKeyStore(db), VAULT, Clock.systemUTC()));
        }
        try (Database db = Database.embedded(dir.resolve("b"))) {
            EarSigningKey.loadOrCreate(new EarKeyStore(db), VAULT, Clock.systemUTC());
            byte[] sealed = rows(db).getFirst();
            sealed[sealed.length - 1] ^= 1;
            db.inTransaction(c -> {
                try (PreparedStatement ps = c.prepareStatement("UPDATE ear_signing_keys SET sealed = ?")) {
                    ps.setBytes(1, sealed);
                    return ps.executeUpdate();
                }
            });
            assertThrows(IllegalStateException.class,
                    () -> EarSigningKey.loadOrCreate(new EarKeyStore(db), VAULT, Clock.systemUTC()));
        }
    }

    @Test
    void replicasRacingOnAnEmptyPostgresStoreAgreeOnOneKey() throws Exception {
        var pg = TestPostgres.freshSchema(); // skips without a PostgreSQL
        int replicas = 4;
        List<Database> dbs = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(replicas);
        try {
            for (int i = 0; i < replicas; i++) {
                dbs.add(Database.open(pg, dir.resolve("r" + i)));
            }
            CountDownLatch go = new CountDownLatch(1);
            List<CompletableFuture<EarSigningKey>> keys = new ArrayList<>();
            for (Database db : dbs) {
                keys.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                    return EarSigningKey.loadOrCreate(new EarKeyStore(db), VAULT, Clock.systemUTC());
                }, pool));
            }
            go.countDown();
            List<EarSigningKey> got = new ArrayList<>();
            for (CompletableFuture<EarSigningKey> k : keys) {
                got.add(k.get(30, TimeUnit.SECONDS));
            }
            for (EarSigningKey k : got) {
                assertEquals(got.getFirst().kid(), k.kid());
                assertEquals(got.getFirst().publicJwks().toString(), k.publicJwks().toString());
            }
            assertEquals(1, rows(dbs.getFirst()).size());
            // each replica verifies the other's token with its own JWKS
            assertEquals("node-1", verifiedSubject(signedBy(got.get(0)), got.get(1)));
            assertEquals("node-1", verifiedSubject(signedBy(got.get(1)), got.get(0)));
        } finally {
            pool.shutdownNow();
            dbs.forEach(Database::close);
        }
    }
}
