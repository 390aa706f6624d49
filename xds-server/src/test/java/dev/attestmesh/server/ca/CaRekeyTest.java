package dev.attestmesh.server.ca;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.cli.AttestMeshCli;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.ControlPlaneSettings;
import dev.attestmesh.server.EvidenceVerifierSet;
import dev.attestmesh.server.seed.DocumentFileModes;
import dev.attestmesh.server.secrets.SecretVault;
import dev.attestmesh.server.store.Database;
import dev.attestmesh.server.store.DatabaseSettings;
import dev.attestmesh.server.store.ReplicaSessions;
import dev.attestmesh.server.store.StoreException;
import dev.attestmesh.server.store.TestPostgres;
import dev.attestmesh.server.watch.RegistryWatchSettings;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code attestmesh ca rekey} and {@link CaRekey}: bad input and refusals first (wrong old key, short or unchanged
 * new key, a CA sealed to a TEE, an item that does not open, a storage failure injected mid-way, a live store), each
 * leaving every sealed byte as it was; then a rekey after which a control plane opens the same CA and the secrets
 * with the new key and refuses the old one.
 */
class CaRekeyTest {
    static final String OLD = "rekey-test-old-key-0123456789";
    static final String NEW = "rekey-test-new-key-9876543210";
    static final String POLICIES = """
            policies:
              - id: default
                tee: [sim]
                reference:
                  sim:
                    measurement: ["%s"]
              - id: strict
                tee: [sim]
                sealing: true
                reference:
                  sim:
                    measurement: ["%s"]
            """.formatted("a1".repeat(48), "c3".repeat(48));
    static final byte[] VALUE = "db-password: rekey-VALUE-51c2".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path tmp;

    ControlPlane start(Path data, String key, Optional<DatabaseSettings> db) throws Exception {
        Path policies = Files.writeString(tmp.resolve("policies.yaml"), POLICIES);
        ControlPlaneSettings s = new ControlPlaneSettings(data, "127.0.0.1", 0, Optional.of(policies), "attestmesh.local",
                Optional.of(key), List.of("localhost"), "/var/run/attestmesh/key.pem", Duration.ofMinutes(2))
                .withDevMode(true);
        if (db.isPresent()) {
            s = s.withDatabase(db.get());
        }
        return ControlPlane.start(s, Clock.systemUTC(), EvidenceVerifierSet.defaults(), Optional.empty(),
                RegistryWatchSettings.refuseAll(), RotationSettings.DEFAULTS, DocumentFileModes.SEED, CaKeySource.none());
    }

    /** A stopped control plane's store with a CA, two secrets (three versions) and one policy sealing key. */
    X509Certificate populated(Path data, Optional<DatabaseSettings> db) throws Exception {
        try (ControlPlane cp = start(data, OLD, db)) {
            cp.secrets().put("db-password", VALUE, List.of("policy:default"), List.of());
            cp.secrets().put("db-password", VALUE, List.of("policy:default"), List.of());
            cp.secrets().put("api-key", VALUE, List.of("policy:strict"), List.of());
            assertEquals(1, cp.sealingKeys().publicKeys().size(), "the sealing policy has its key");
            return cp.meshCa().root();
        }
    }

    /** Every sealed byte in the store, by table and row. */
    static Map<String, byte[]> sealedBytes(Database db) {
        return db.inTransaction(c -> {
            Map<String, byte[]> out = new LinkedHashMap<>();
            read(c, "SELECT id, sealed FROM ca_material", "ca:", out);
            read(c, "SELECT name || '@' || CAST(version AS VARCHAR), sealed FROM secret_versions", "secret:", out);
            read(c, "SELECT key_id, sealed_private FROM sealing_keys", "sealing:", out);
            read(c, "SELECT kid, sealed FROM ear_signing_keys", "ear:", out);
            return out;
        });
    }

    private static void read(Connection c, String sql, String prefix, Map<String, byte[]> out)
            throws java.sql.SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                out.put(prefix + rs.getString(1), rs.getBytes(2));
            }
        }
    }

    static void assertUnchanged(Map<String, byte[]> before, Map<String, byte[]> after) {
        assertEquals(before.keySet(), after.keySet());
        before.forEach((k, v) -> assertArrayEquals(v, after.get(k), k + " was changed"));
    }

    /**
     * Opens every secret version, sealing key and the EAR signing key with {@code key}'s vault; fails when one does
     * not open.
     */
    static int openAll(Database db, String key) {
        SecretVault vault = SecretVault.fromCaKey(key.toCharArray());
        return db.inTransaction(c -> {
            int n = 0;
            try (Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT name, version, sealed FROM secret_versions")) {
                while (rs.next()) {
                    assertArrayEquals(VALUE, vault.open(rs.getString(1), rs.getLong(2), rs.getBytes(3)));
                    n++;
                }
            }
            try (Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT key_id, sealed_private FROM sealing_keys")) {
                while (rs.next()) {
                    assertTrue(vault.open("sealing:" + rs.getString(1), 1, rs.getBytes(2)).length > 0);
                    n++;
                }
            }
            try (Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT kid, sealed FROM ear_signing_keys")) {
                while (rs.next()) {
                    assertTrue(vault.open("ear-signing-key:" + rs.getString(1), 1, rs.getBytes(2)).length > 0);
                    n++;
                }
            }
            return n;
        });
    }

    record Run(int code, String out, String err) {}

    /** {@code ca rekey ARGS} with {@code env} as its environment and no attestmesh.* system properties. */
    static Run run(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = dev.attestmesh.cli.CaRekeyCommandProbe.run(env, new PrintWriter(out, true), new PrintWriter(err, true),
                args);
        return new Run(code, out.toString(), err.toString());
    }

    static Run cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = AttestMeshCli.commandLine();
        cl.setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
                .setExecutionExceptionHandler((ex, cmd, parse) -> {
                    cmd.getErr().println("attestmesh: " + ex.getMessage());
                    return 1;
                });
        return new Run(cl.execute(args), out.toString(), err.toString());
    }

    Path keyFile(String name, String content) throws Exception {
        return Files.writeString(tmp.resolve(name), content);
    }

    @Test
    void aWrongOldKeyAShortOrUnchangedNewKeyOrAMissingStoreChangeNothing() throws Exception {
        Path data = tmp.resolve("data");
        populated(data, Optional.empty());
        Map<String, byte[]> before;
        try (Database db = Database.embedded(data)) {
            before = sealedBytes(db);
        }
        Path newKey = keyFile("new.key", NEW + "\n");
        Run wrong = cli("ca", "rekey", "--data-dir", data.toString(), "--old-key-file",
                keyFile("wrong.key", "not-the-key-0123456789").toString(), "--new-key-file", newKey.toString());
        assertEquals(1, wrong.code());
        assertTrue(wrong.err().contains("the old CA encryption key does not open the stored mesh CA"), wrong.err());
        assertTrue(wrong.err().contains("nothing was changed"), wrong.err());

        Run shortKey = cli("ca", "rekey", "--data-dir", data.toString(), "--old-key-file",
                keyFile("old.key", OLD).toString(), "--new-key-file", keyFile("short.key", " short-key \n").toString());
        assertEquals(1, shortKey.code());
        assertTrue(shortKey.err().contains("is 9 characters long; a new CA encryption key needs at least 16"),
                shortKey.err());
        Run empty = cli("ca", "rekey", "--data-dir", data.toString(), "--old-key-file", tmp.resolve("old.key").toString(),
                "--new-key-file", keyFile("empty.key", "  \n").toString());
        assertTrue(empty.err().contains("is empty: a CA encryption key must not be empty"), empty.err());
        Run huge = cli("ca", "rekey", "--data-dir", data.toString(), "--old-key-file", tmp.resolve("old.key").toString(),
                "--new-key-file", keyFile("huge.key", "k".repeat(5000)).toString());
        assertTrue(huge.err().contains("is larger than 4096 bytes"), huge.err());
        Run same = cli("ca", "rekey", "--data-dir", data.toString(), "--old-key-file", tmp.resolve("old.key").toString(),
                "--new-key-file", keyFile("same.key", OLD + "\n").toString());
        assertTrue(same.err().contains("the new CA encryption key is the old one"), same.err());
        Run noStore = cli("ca", "rekey", "--data-dir", tmp.resolve("elsewhere").toString(), "--old-key-file",
                tmp.resolve("old.key").toString(), "--new-key-file", newKey.toString());
        assertTrue(noStore.err().contains("no control plane store at"), noStore.err());
        assertFalse(Files.exists(tmp.resolve("elsewhere")), "no store was created");
        for (Run r : List.of(wrong, shortKey, empty, huge, same, noStore)) {
            assertFalse((r.out() + r.err()).contains(NEW) || (r.out() + r.err()).contains(OLD), "a key was printed");
        }
        try (Database db = Database.embedded(data)) {
            assertUnchanged(before, sealedBytes(db));
            assertEquals(5, openAll(db, OLD)); // 3 secret versions, 1 sealing key, the EAR signing key
        }
    }

    @Test
    void anItemThatDoesNotOpenOrAStorageFailureMidWayRollsEverythingBack() throws Exception {
        Path data = tmp.resolve("data");
        populated(data, Optional.empty());
        try (Database db = Database.embedded(data)) {
            Map<String, byte[]> before = sealedBytes(db);
            // A storage failure on the last table, after ca_material and secret_versions were rewritten.
            db.inTransaction(c -> {
                try (Statement s = c.createStatement()) {
                    s.execute("CREATE TRIGGER rekey_fails BEFORE UPDATE ON sealing_keys FOR EACH ROW CALL \""
                            + FailingTrigger.class.getName() + "\"");
                }
                return null;
            });
            StoreException failed = assertThrows(StoreException.class,
                    () -> CaRekey.rekey(db, OLD.toCharArray(), NEW.toCharArray(), Clock.systemUTC()));
            assertTrue(failed.getMessage().contains("injected storage failure"), failed.getMessage());
            assertUnchanged(before, sealedBytes(db));
            db.inTransaction(c -> c.createStatement().execute("DROP TRIGGER rekey_fails"));

            // One secret version altered at rest: it does not open, so nothing is re-sealed.
            db.inTransaction(c -> {
                try (PreparedStatement ps = c.prepareStatement(
                        "UPDATE secret_versions SET sealed = ? WHERE name = 'db-password' AND version = 1")) {
                    byte[] bad = before.get("secret:db-password@1").clone();
                    bad[bad.length - 1] ^= 1;
                    ps.setBytes(1, bad);
                    return ps.executeUpdate();
                }
            });
            Map<String, byte[]> altered = sealedBytes(db);
            CaRekey.RekeyException unreadable = assertThrows(CaRekey.RekeyException.class,
                    () -> CaRekey.rekey(db, OLD.toCharArray(), NEW.toCharArray(), Clock.systemUTC()));
            assertTrue(unreadable.getMessage().contains("secret 'db-password' v1 does not open under the old CA "
                    + "encryption key"), unreadable.getMessage());
            assertUnchanged(altered, sealedBytes(db));
        }
    }

    @Test
    void afterARekeyTheControlPlaneOpensTheSameCaAndSecretsWithTheNewKeyAndRefusesTheOldOne() throws Exception {
        Path data = tmp.resolve("data");
        X509Certificate root = populated(data, Optional.empty());
        Run ok = cli("ca", "rekey", "--data-dir", data.toString(), "--old-key-file", keyFile("old.key", OLD).toString(),
                "--new-key-file", keyFile("new.key", NEW).toString());
        assertEquals(0, ok.code(), ok.err());
        assertTrue(ok.out().contains("3 secret version(s), 1 policy sealing key(s), 1 EAR signing key(s)"), ok.out());
        assertFalse(ok.out().contains(NEW) || ok.out().contains(OLD), "a key was printed: " + ok.out());
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> start(data, OLD, Optional.empty()));
        assertTrue(refused.getMessage().contains("cannot open the stored mesh CA")
                && refused.getMessage().contains("ATTESTMESH_CA_KEY"), refused.getMessage());
        try (ControlPlane cp = start(data, NEW, Optional.empty())) {
            assertEquals(root, cp.meshCa().root(), "the same root");
            assertEquals(5, openAll(cp.database(), NEW));
            assertTrue(cp.issuanceLog().verify().intact());
        }
    }

    @Test
    void theGeneratedKeyFileIsTheDefaultOldKeyAndTheCommandSaysWhatToDoWithIt() throws Exception {
        Path data = tmp.resolve("data");
        populated(data, Optional.empty());
        // a data directory whose CA is sealed under a generated key: move it there with a first rekey
        String generated = "Z2VuZXJhdGVkLWtleS1mb3ItdGhlLXRlc3QtMDEyMzQ1Ng==";
        assertEquals(0, cli("ca", "rekey", "--data-dir", data.toString(), "--old-key-file",
                keyFile("old.key", OLD).toString(), "--new-key-file", keyFile("gen.key", generated).toString()).code());
        Files.writeString(data.resolve("ca-encryption.key"), generated);
        Run ok = run(Map.of(), "--data-dir", data.toString(), "--new-key-file", keyFile("new.key", NEW).toString());
        assertEquals(0, ok.code(), ok.err());
        assertTrue(ok.out().contains("the old key came from ca-encryption.key"), ok.out());
        assertTrue(ok.out().contains("holds the OLD key"), ok.out());
        // ATTESTMESH_CA_KEY wins over the generated file, as in the server
        Run env = run(Map.of("ATTESTMESH_CA_KEY", NEW), "--data-dir", data.toString(), "--new-key-file",
                keyFile("third.key", OLD).toString());
        assertEquals(0, env.code(), env.err());
        assertTrue(env.out().contains("the old key came from ATTESTMESH_CA_KEY"), env.out());
        assertFalse(env.out().contains("holds the OLD key"), env.out());
    }

    @Test
    void aCaSealedToTheTeeIsRefused() throws Exception {
        Path data = tmp.resolve("tee");
        try (ControlPlane cp = ControlPlane.start(ControlPlaneSettings.forTests(data, Optional.empty()), Clock.systemUTC(),
                EvidenceVerifierSet.defaults(), Optional.empty(), RegistryWatchSettings.refuseAll(),
                RotationSettings.DEFAULTS, DocumentFileModes.SEED, CaTeeSealingTest.snpGuest(tmp.resolve("guest"), "m"))) {
            assertEquals("sev-snp-derived-key", cp.caKeySealing());
        }
        Run r = cli("ca", "rekey", "--data-dir", data.toString(), "--old-key-file",
                keyFile("old.key", "test-ca-key-do-not-use-in-production").toString(), "--new-key-file",
                keyFile("new.key", NEW).toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("sealed to the TEE's sev-snp-derived-key (attestmesh.ca-sealing=auto)"), r.err());
    }

    @Test
    void onPostgresALiveReplicaOrAMissingConfirmationRefusesAndAStoppedStoreRekeys() throws Exception {
        DatabaseSettings pg = TestPostgres.freshSchema();
        Path data = tmp.resolve("pg");
        String url = pg.url().orElseThrow();
        Path oldKey = keyFile("old.key", OLD);
        Path newKey = keyFile("new.key", NEW);
        X509Certificate root;
        try (ControlPlane cp = start(data, OLD, Optional.of(pg))) {
            root = cp.meshCa().root();
            cp.secrets().put("db-password", VALUE, List.of("policy:default"), List.of());
            try (Database other = Database.open(pg, data)) {
                assertFalse(ReplicaSessions.connected(other).isEmpty(), "the running replica's LISTEN session is seen");
            }
            Run unconfirmed = cli("ca", "rekey", "--database-url", url, "--old-key-file", oldKey.toString(),
                    "--new-key-file", newKey.toString());
            assertTrue(unconfirmed.err().contains("needs --confirm-stopped"), unconfirmed.err());
            Run live = cli("ca", "rekey", "--database-url", url, "--confirm-stopped", "--old-key-file",
                    oldKey.toString(), "--new-key-file", newKey.toString());
            assertEquals(1, live.code());
            assertTrue(live.err().contains("control plane replica(s) are connected"), live.err());
        }
        Map<String, byte[]> before;
        try (Database db = Database.open(pg, data)) {
            before = sealedBytes(db);
            db.inTransaction(c -> c.createStatement().execute("""
                    CREATE FUNCTION rekey_fails() RETURNS trigger LANGUAGE plpgsql AS
                    $$ BEGIN RAISE EXCEPTION 'injected storage failure'; END $$;
                    CREATE TRIGGER rekey_fails BEFORE UPDATE ON secret_versions FOR EACH ROW EXECUTE FUNCTION rekey_fails();
                    """));
            assertThrows(StoreException.class,
                    () -> CaRekey.rekey(db, OLD.toCharArray(), NEW.toCharArray(), Clock.systemUTC()));
            assertUnchanged(before, sealedBytes(db));
            db.inTransaction(c -> c.createStatement().execute("DROP TRIGGER rekey_fails ON secret_versions"));
        }
        Run ok = cli("ca", "rekey", "--database-url", url, "--confirm-stopped", "--old-key-file", oldKey.toString(),
                "--new-key-file", newKey.toString());
        assertEquals(0, ok.code(), ok.err());
        try (ControlPlane cp = start(data, NEW, Optional.of(pg))) {
            assertEquals(root, cp.meshCa().root());
            assertEquals(3, openAll(cp.database(), NEW)); // one secret version, one sealing key, the EAR signing key
        }
    }

    /** Throws from an H2 row trigger: a storage failure in the middle of the rekey transaction. */
    public static final class FailingTrigger implements org.h2.api.Trigger {
        @Override
        public void fire(Connection conn, Object[] oldRow, Object[] newRow) throws java.sql.SQLException {
            throw new java.sql.SQLException("injected storage failure");
        }
    }
}
