package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The full CLI has the control plane's commands plus agent and demo; the control plane's own CLI has neither. */
class AttestMeshFullCliTest {
    @Test
    void fullCliListsAgentAndDemoAndUsageErrorsExitTwo() {
        String help = stdout(() -> AttestMeshFullCli.execute("--help"), 0);
        for (String command : new String[] {"server", "authz", "agent", "demo", "ca", "revoke"}) {
            assertTrue(help.contains("  " + command + " "), command + " in:\n" + help);
        }
        String agentHelp = stdout(() -> AttestMeshFullCli.execute("agent", "--help"), 0);
        assertTrue(agentHelp.contains("--control-plane") && agentHelp.contains("--sds-socket"), agentHelp);
        assertEquals(2, AttestMeshFullCli.execute("agent", "--no-such-option"));
        assertEquals(2, AttestMeshFullCli.execute());
    }

    @Test
    void controlPlaneCliHasNoAgentCode() {
        String help = stdout(() -> AttestMeshCli.execute("--help"), 0);
        assertTrue(help.contains("  server "), help);
        assertFalse(help.contains("  agent ") || help.contains("  demo "), help);
        assertEquals(2, AttestMeshCli.execute("server", "--no-such-option"));
        assertEquals(2, AttestMeshCli.execute("agent"));
    }

    private static String stdout(Supplier<Integer> run, int expectedStatus) {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        int status;
        try {
            status = run.get();
        } finally {
            System.setOut(old);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        assertEquals(expectedStatus, status, out);
        return out;
    }
}
