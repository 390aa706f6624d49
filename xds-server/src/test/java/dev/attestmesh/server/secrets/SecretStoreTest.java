package dev.attestmesh.server.secrets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.server.store.Database;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Values at rest: sealed per name and version, tamper-evident, and a failed write leaves nothing behind. */
class SecretStoreTest {
    static final SecretVault VAULT = SecretVault.fromCaKey("store-test-key".toCharArray());
    static final byte[] VALUE = "top-secret-bytes".getBytes(StandardCharsets.UTF_8);

    @Test
    void aSealedVersionOpensOnlyUnderItsOwnNameVersionAndKey() {
        byte[] sealed = VAULT.seal("db", 1, VALUE);
        assertArrayEquals(VALUE, VAULT.open("db", 1, sealed));
        assertTrue(!new String(sealed, StandardCharsets.ISO_8859_1).contains("top-secret"), "not in the clear");
        assertThrows(SecretStoreException.class, () -> VAULT.open("db", 2, sealed), "moved to another version");
        assertThrows(SecretStoreException.class, () -> VAULT.open("other", 1, sealed), "moved to another name");
        assertThrows(SecretStoreException.class,
                () -> SecretVault.fromCaKey("another-key".toCharArray()).open("db", 1, sealed), "another CA key");
        for (int i : new int[] {3, 20, sealed.length - 1}) { // header, nonce, tag
            byte[] t = sealed.clone();
            t[i] ^= 1;
            assertThrows(SecretStoreException.class, () -> VAULT.open("db", 1, t), "byte " + i + " altered");
        }
    }

    @Test
    void aStorageFailureMidWriteLeavesNoPartialState() throws Exception {
        Path dir = Files.createTempDirectory("attestmesh-secret-store");
        try (Database db = Database.embedded(dir)) {
            failedWritesLeaveNothing(db);
        } finally {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void aStorageFailureMidWriteLeavesNoPartialStateOnPostgres() throws Exception {
        dev.attestmesh.server.store.DatabaseSettings pg = dev.attestmesh.server.store.TestPostgres.freshSchema();
        Path dir = Files.createTempDirectory("attestmesh-secret-store-pg");
        try (Database db = Database.open(pg, dir)) {
            failedWritesLeaveNothing(db);
        } finally {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static void failedWritesLeaveNothing(Database db) {
        {
            SecretStore store = new SecretStore(db);
            List<SecretRule> rule = List.of(SecretRule.parse("registration:web"));
            store.putVersion("db", rule, List.of(), v -> VAULT.seal("db", v, VALUE), VALUE.length, Instant.now());
            // the second version fails after the secrets row was updated, inside the same transaction
            assertThrows(IllegalStateException.class, () -> store.putVersion("db", List.of(SecretRule.parse(
                    "policy:strict")), List.of(), v -> {
                        throw new IllegalStateException("disk full");
                    }, 3, Instant.now()));
            SecretMetadata m = store.get("db").orElseThrow();
            assertEquals(1, m.currentVersion());
            assertEquals(rule, m.allow(), "rule unchanged");
            assertEquals(1, m.versions().size());
            assertArrayEquals(VALUE, VAULT.open("db", 1, store.sealed("db", 1).orElseThrow()));
            // a failed first write stores no secret at all
            assertThrows(IllegalStateException.class, () -> store.putVersion("new", rule, List.of(), v -> {
                throw new IllegalStateException("disk full");
            }, 3, Instant.now()));
            assertTrue(store.get("new").isEmpty());
        }
    }

    @Test
    void rulesAreParsedStrictly() {
        assertEquals(new SecretRule(SecretRule.Kind.POLICY, "strict"), SecretRule.parse("policy:strict"));
        for (String bad : List.of("", "web", "node:web", "policy:", "policy:a,b", "registration:" + "x".repeat(129))) {
            assertThrows(IllegalArgumentException.class, () -> SecretRule.parse(bad), bad);
        }
    }
}
