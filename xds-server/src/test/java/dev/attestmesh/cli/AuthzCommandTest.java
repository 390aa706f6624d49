package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class AuthzCommandTest {
    @Test
    void parsesShortAndIsoDurations() {
        assertEquals(Duration.ofMillis(500), AuthzCommand.parseDuration("500ms"));
        assertEquals(Duration.ofSeconds(30), AuthzCommand.parseDuration("30s"));
        assertEquals(Duration.ofMinutes(2), AuthzCommand.parseDuration("2m"));
        assertEquals(Duration.ofSeconds(45), AuthzCommand.parseDuration("PT45S"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AuthzCommand.parseDuration("soon"));
        assertTrue(e.getMessage().contains("is not like 500ms"));
        assertThrows(IllegalArgumentException.class, () -> AuthzCommand.parseDuration("0s"));
    }

    @Test
    void refusesPlaintextOnANonLoopbackAddress() throws Exception {
        Path dir = Files.createTempDirectory("authz-cli");
        for (String f : new String[] {"ca.pem", "cert.pem", "key.pem"}) {
            Files.writeString(dir.resolve(f), "unused");
        }
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int code;
        try {
            System.setErr(new PrintStream(captured, true));
            code = AttestMeshCli.execute("authz", "--control-plane", "127.0.0.1:1", "--ca-bundle", dir.resolve("ca.pem").toString(),
                    "--cert", dir.resolve("cert.pem").toString(), "--key", dir.resolve("key.pem").toString(),
                    "--port", "0", "--bind", "0.0.0.0", "--plaintext");
        } finally {
            System.setErr(err);
        }
        assertEquals(1, code);
        assertTrue(captured.toString().contains("--plaintext is allowed on a loopback address only"), captured.toString());
    }

    @Test
    void refusesAnAuthzClientIdentityThatIsNotReserved() throws Exception {
        Path dir = Files.createTempDirectory("authz-cli");
        for (String f : new String[] {"ca.pem", "cert.pem", "key.pem"}) {
            Files.writeString(dir.resolve(f), "unused");
        }
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int code;
        try {
            System.setErr(new PrintStream(captured, true));
            code = AttestMeshCli.execute("authz", "--control-plane", "127.0.0.1:1", "--ca-bundle", dir.resolve("ca.pem").toString(),
                    "--cert", dir.resolve("cert.pem").toString(), "--key", dir.resolve("key.pem").toString(),
                    "--port", "0", "--plaintext", "--authz-client-identity", "spiffe://attestmesh.local/ns/prod/sa/web");
        } finally {
            System.setErr(err);
        }
        assertEquals(1, code);
        assertTrue(captured.toString().contains("ext_authz client identity 'spiffe://attestmesh.local/ns/prod/sa/web' "
                + "is not a reserved identity"), captured.toString());
    }
}
