package dev.attestmesh.cli;

import dev.attestmesh.agent.cli.AgentCommand;
import picocli.CommandLine;

/**
 * The full {@code attestmesh} command line: the control plane's commands ({@link AttestMeshCli}) plus {@code agent}
 * (the node agent's own command, {@link AgentCommand}) and {@code demo}, which runs a control plane and agents in one
 * process. Only this module puts both on one class path; the control plane's jar and image hold no agent code and the
 * agent's jar holds no server code.
 */
public final class AttestMeshFullCli {
    private AttestMeshFullCli() {
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Exit status: 0 ok, 1 refused/failed, 2 usage. */
    public static int execute(String... args) {
        return CliLauncher.execute(commandLine(), "attestmesh", args);
    }

    /** The whole command tree: the control plane's commands, {@code agent} and {@code demo}. */
    public static CommandLine commandLine() {
        return AttestMeshCli.commandLine()
                .addSubcommand(new AgentCommand())
                .addSubcommand(new DemoCommand());
    }
}
