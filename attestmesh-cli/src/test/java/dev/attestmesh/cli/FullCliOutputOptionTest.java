package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The commands the full CLI adds to the control plane's tree ({@code CliOutputOptionTest} in xds-server checks
 * those for {@code -o}): only {@code agent} and {@code demo}, both long-running processes without read output. A
 * command added here must take {@code -o} or be added to this list with its reason.
 */
class FullCliOutputOptionTest {
    /** Long-running processes: no {@code -o}. */
    static final Set<String> LONG_RUNNING = Set.of("agent", "demo");

    @Test
    void theFullCliAddsOnlyTheLongRunningAgentAndDemo() {
        Set<String> full = new TreeSet<>(AttestMeshFullCli.commandLine().getSubcommands().keySet());
        full.removeAll(AttestMeshCli.commandLine().getSubcommands().keySet());
        Set<String> withoutOutput = new TreeSet<>();
        for (String name : full) {
            if (AttestMeshFullCli.commandLine().getSubcommands().get(name).getCommandSpec().findOption("-o") == null) {
                withoutOutput.add(name);
            }
        }
        assertEquals(new TreeSet<>(LONG_RUNNING), withoutOutput, "commands of the full CLI without -o");
    }
}
