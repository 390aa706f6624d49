package dev.attestmesh.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CredentialFilesTest {
    @TempDir
    Path dir;

    @Test
    void writesKeyOwnerOnlyAndReplacesFilesWithoutLeavingTemporaries() throws Exception {
        CredentialFiles f = new CredentialFiles(dir.resolve("out"));
        f.write("KEY1", "CHAIN1", "BUNDLE1");
        f.write("KEY2", "CHAIN2", "BUNDLE2");
        Path out = dir.resolve("out");
        assertEquals("KEY2", Files.readString(out.resolve(CredentialFiles.KEY)));
        assertEquals("CHAIN2", Files.readString(out.resolve(CredentialFiles.CERT_CHAIN)));
        assertEquals("BUNDLE2", Files.readString(out.resolve(CredentialFiles.CA_BUNDLE)));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(out.resolve("key.pem"))));
        assertEquals("rw-r--r--",
                PosixFilePermissions.toString(Files.getPosixFilePermissions(out.resolve("cert-chain.pem"))));
        try (Stream<Path> s = Files.list(out)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().endsWith(".tmp")));
        }
    }
}
