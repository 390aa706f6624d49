package dev.attestmesh.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent's secret folder holds exactly the last release, owner-only, and never writes outside itself. */
class SecretFilesTest {
    @TempDir
    Path out;

    @Test
    void holdsExactlyTheLastReleaseOwnerOnly() throws Exception {
        SecretFiles files = new SecretFiles(out);
        files.replaceAll(Map.of("db", new byte[] {1, 2}, "api-key", new byte[] {3}));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(
                files.directory().resolve("db"))));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(files.directory())));
        files.replaceAll(Map.of("db", new byte[] {9}));
        assertArrayEquals(new byte[] {9}, Files.readAllBytes(files.directory().resolve("db")));
        assertFalse(Files.exists(files.directory().resolve("api-key")), "no longer released: deleted");
        try (var l = Files.list(files.directory())) {
            assertEquals(List.of("db"), l.map(p -> p.getFileName().toString()).toList(), "no temporary files left");
        }
        files.clear();
        try (var l = Files.list(files.directory())) {
            assertEquals(0, l.count());
        }
    }

    @Test
    void aNameThatCouldLeaveTheFolderOrAnOversizedValueWritesNothing() throws Exception {
        SecretFiles files = new SecretFiles(out);
        files.replaceAll(Map.of("db", new byte[] {1}));
        for (Map<String, byte[]> bad : List.of(Map.of("../key.pem", new byte[] {1}), Map.of(".hidden", new byte[] {1}),
                Map.of("Upper", new byte[] {1}), Map.of("big", new byte[64 * 1024 + 1]))) {
            assertThrows(IOException.class, () -> files.replaceAll(bad));
        }
        assertFalse(Files.exists(out.resolve("key.pem")));
        assertTrue(Files.exists(files.directory().resolve("db")), "a refused release changes nothing");
    }
}
