package dev.attestmesh.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code attestmesh} command line. Every option can also come from an environment variable
 * ({@code --node-id} from {@code ATTESTMESH_NODE_ID}) or from a properties file given with
 * {@code --config FILE} or {@code ATTESTMESH_CONFIG} ({@code node-id=...}); the command line wins, then
 * the environment, then the file.
 */
@Command(name = "attestmesh", mixinStandardHelpOptions = true, versionProvider = AttestMeshCli.Version.class,
        description = "AttestMesh: admit only attested TEEs (SGX, TDX, SEV-SNP) into an Envoy mesh.",
        subcommands = {ServerCommand.class, AuthzCommand.class, EvidenceCommand.class, MeshCommand.class,
                NodesCommand.class, VerifyCommand.class,
                PoliciesCommand.class, RegistrationsCommand.class, RevokeCommand.class, SecretsCommand.class, SealCommand.class, UnsealCommand.class, LogCommand.class, CaCommand.class, BootstrapCommand.class, CompletionCommand.class,
                CommandLine.HelpCommand.class})
public final class AttestMeshCli implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required (see --help)");
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the CLI and returns its exit code (0 ok, 1 refused/failed, 2 usage). */
    public static int execute(String... args) {
        return CliLauncher.execute(commandLine(), "attestmesh", args);
    }

    /**
     * The control plane's command line: every command but {@code agent} and {@code demo}, which need the node agent
     * (module {@code attestmesh-cli} adds them; {@code ./attestmesh agent} runs the agent's own executable).
     */
    public static CommandLine commandLine() {
        return new CommandLine(new AttestMeshCli());
    }

    /** Version from the jar manifest. */
    public static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = AttestMeshCli.class.getPackage().getImplementationVersion();
            return new String[] {"attestmesh " + (v == null ? "development build" : v)};
        }
    }
}
