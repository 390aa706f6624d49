package dev.attestmesh.server.admin.tls;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micronaut.runtime.Micronaut;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdminListenerSettingsTest {
    @TempDir
    Path dir;

    @Test
    void refusesANonLoopbackBindWithoutTlsAndNamesTheWayOut() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AdminListenerSettings.of("0.0.0.0", "off", "false"));
        assertTrue(e.getMessage().contains("attestmesh.admin-bind is '0.0.0.0'"), e.getMessage());
        assertTrue(e.getMessage().contains("attestmesh.admin.tls=on"), e.getMessage());
        assertTrue(e.getMessage().contains("attestmesh.admin.allow-plaintext=true"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> AdminListenerSettings.of("10.0.0.5", "off", ""));
        assertThrows(IllegalArgumentException.class, () -> AdminListenerSettings.of("::", "off", "false"));
        // a name that merely starts like localhost may resolve anywhere
        assertThrows(IllegalArgumentException.class, () -> AdminListenerSettings.of("localhost.evil.example", "off", "false"));
    }

    @Test
    void acceptsLoopbackWithoutTlsAndAnyBindWithTlsOrExplicitPlaintext() {
        for (String loopback : new String[] {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"}) {
            assertFalse(AdminListenerSettings.of(loopback, "off", "false").tls(), loopback);
        }
        assertTrue(AdminListenerSettings.of("0.0.0.0", "on", "false").tls());
        assertFalse(AdminListenerSettings.of("0.0.0.0", "off", "true").tls());
        assertTrue(AdminListenerSettings.of("0.0.0.0", "true", "false").tls(), "YAML 1.1 reads a bare on as true");
    }

    @Test
    void refusesValuesOtherThanOnOrOff() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AdminListenerSettings.of("127.0.0.1", "yes", "false"));
        assertTrue(e.getMessage().contains("attestmesh.admin.tls must be 'on' or 'off'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> AdminListenerSettings.of("127.0.0.1", "ON ", "false"));
        assertThrows(IllegalArgumentException.class, () -> AdminListenerSettings.of("0.0.0.0", "off", "1"));
    }

    @Test
    void theServerDoesNotStartOnANonLoopbackPlainHttpBind() {
        Map<String, Object> p = new HashMap<>();
        p.put("attestmesh.data-dir", dir.resolve("cp").toString());
        p.put("attestmesh.grpc-bind", "127.0.0.1");
        p.put("attestmesh.grpc-port", 0);
        p.put("attestmesh.admin-port", 0);
        p.put("attestmesh.admin-bind", "0.0.0.0");
        p.put("attestmesh.ca-key", "listener-test-key");
        RuntimeException e = assertThrows(RuntimeException.class,
                () -> Micronaut.build(new String[0]).banner(false).properties(p).start().close());
        StringBuilder messages = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            messages.append(t.getMessage()).append('\n');
        }
        assertTrue(messages.toString().contains("attestmesh.admin.allow-plaintext=true"), messages.toString());
    }
}
