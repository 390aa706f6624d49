package dev.attestmesh.cli;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
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
        subcommands = {ServerCommand.class, AgentCommand.class, AuthzCommand.class, DemoCommand.class, EvidenceCommand.class, MeshCommand.class,
                NodesCommand.class, VerifyCommand.class,
                PoliciesCommand.class, RegistrationsCommand.class, RevokeCommand.class, LogCommand.class, CaCommand.class, BootstrapCommand.class,
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
        List<String> rest = new ArrayList<>();
        Path config = System.getenv("ATTESTMESH_CONFIG") == null ? null : Path.of(System.getenv("ATTESTMESH_CONFIG"));
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                config = Path.of(args[++i]);
            } else if (args[i].startsWith("--config=")) {
                config = Path.of(args[i].substring("--config=".length()));
            } else {
                rest.add(args[i]);
            }
        }
        Properties file = new Properties();
        if (config != null) {
            try (Reader r = Files.newBufferedReader(config)) {
                file.load(r);
            } catch (IOException e) {
                System.err.println("attestmesh: cannot read configuration file " + config + ": " + e.getMessage());
                return 2;
            }
        }
        CommandLine cl = new CommandLine(new AttestMeshCli())
                .setDefaultValueProvider(new EnvironmentDefaultProvider(System.getenv(), file))
                .setExecutionExceptionHandler((ex, cmd, parse) -> {
                    cmd.getErr().println("attestmesh: " + ex.getMessage());
                    return 1;
                });
        return cl.execute(rest.toArray(String[]::new));
    }

    /** Version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = AttestMeshCli.class.getPackage().getImplementationVersion();
            return new String[] {"attestmesh " + (v == null ? "development build" : v)};
        }
    }
}
