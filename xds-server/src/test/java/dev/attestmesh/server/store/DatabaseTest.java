package dev.attestmesh.server.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatabaseTest {
    static final Set<String> TABLES = Set.of("ca_material", "policies", "nodes", "issuance_log", "store_locks");

    @Test
    void migratesEmbeddedH2AndStoresBinaryColumnsExactly(@TempDir Path dir) throws SQLException {
        try (Database h2 = Database.open(DatabaseSettings.embedded(), dir)) {
            assertEquals(Database.Vendor.H2, h2.vendor());
            assertSchemaAndBinaryRoundTrip(h2);
        }
    }

    @Test
    void migratesPostgresWithTheSameScriptsAndStoresBinaryColumnsExactly(@TempDir Path dir) throws SQLException {
        try (Database pg = Database.open(TestPostgres.freshSchema(), dir)) {
            assertEquals(Database.Vendor.POSTGRESQL, pg.vendor());
            assertSchemaAndBinaryRoundTrip(pg);
        }
    }

    private static void assertSchemaAndBinaryRoundTrip(Database db) throws SQLException {
        assertTrue(tables(db).containsAll(TABLES), tables(db).toString());
        byte[] sealed = new byte[70_000]; // bigger than any sealed CA, with every byte value
        for (int i = 0; i < sealed.length; i++) {
            sealed[i] = (byte) i;
        }
        CaMaterialStore store = new CaMaterialStore(db);
        store.save(sealed, Instant.now());
        assertArrayEquals(sealed, store.load().orElseThrow(), db.description());
    }

    @Test
    void reopeningTheEmbeddedStoreKeepsItsRows(@TempDir Path dir) {
        try (Database db = Database.open(DatabaseSettings.embedded(), dir)) {
            new CaMaterialStore(db).save(new byte[] {1, 2, 3}, Instant.now());
        }
        try (Database db = Database.open(DatabaseSettings.embedded(), dir)) {
            assertArrayEquals(new byte[] {1, 2, 3}, new CaMaterialStore(db).load().orElseThrow());
        }
    }

    @Test
    void rejectsADatabaseUrlOfAnotherProductNamingTheAcceptedOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DatabaseSettings.of("jdbc:mysql://db/attestmesh?password=hunter2", "", ""));
        assertTrue(e.getMessage().contains("jdbc:postgresql:"), e.getMessage());
        assertFalse(e.getMessage().contains("hunter2"), "the password must not appear: " + e.getMessage());
    }

    @Test
    void settingsNeverShowThePassword() {
        DatabaseSettings s = DatabaseSettings.of("jdbc:postgresql://db/am?user=am&password=hunter2", "u", "s3cret");
        assertFalse(s.toString().contains("hunter2"), s.toString());
        assertFalse(s.toString().contains("s3cret"), s.toString());
        assertTrue(s.isPostgres());
        assertTrue(DatabaseSettings.of(" ", "", "").isEmbedded(), "a blank URL means the embedded store");
        assertEquals(Optional.empty(), DatabaseSettings.of("", " ", "").user());
    }

    @Test
    void storeLockThatDoesNotExistIsReportedByName(@TempDir Path dir) {
        try (Database db = Database.open(DatabaseSettings.embedded(), dir)) {
            StoreException e = assertThrows(StoreException.class, () -> db.lockInTransaction("nope", c -> null));
            assertTrue(e.getMessage().contains("'nope'"), e.getMessage());
        }
    }

    private static Set<String> tables(Database db) throws SQLException {
        Set<String> out = new TreeSet<>();
        try (Connection c = db.connection();
                ResultSet rs = c.getMetaData().getTables(null, c.getSchema(), "%", new String[] {"TABLE"})) {
            while (rs.next()) {
                out.add(rs.getString("TABLE_NAME").toLowerCase(java.util.Locale.ROOT));
            }
        }
        return out;
    }
}
