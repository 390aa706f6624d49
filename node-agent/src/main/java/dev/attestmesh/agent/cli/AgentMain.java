package dev.attestmesh.agent.cli;

import dev.attestmesh.cli.CliLauncher;
import picocli.CommandLine;

/**
 * Main class of the node agent's own executable ({@code java -jar attestmesh-agent.jar OPTIONS}; {@code ./attestmesh
 * agent OPTIONS} runs it). Options are those of {@link AgentCommand}, with defaults from {@code ATTESTMESH_<OPTION>}
 * and {@code --config FILE} as for every AttestMesh command. Its class path holds only what the agent needs inside
 * the TEE: no Micronaut, database, Flyway, connection pool, YAML or JOSE library (the build checks it).
 */
public final class AgentMain {
    private AgentMain() {
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Exit status: 0 ok, 1 refused/failed, 2 usage. */
    public static int execute(String... args) {
        configureLogging();
        CommandLine cl = new CommandLine(new AgentCommand()).setCommandName("attestmesh agent");
        return CliLauncher.execute(cl, "attestmesh agent", args);
    }

    /** slf4j-simple reads its settings once, at the first logger: {@code ATTESTMESH_LOG_LEVEL} (default info). */
    private static void configureLogging() {
        String level = System.getenv("ATTESTMESH_LOG_LEVEL");
        if (level != null && System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", level.toLowerCase(java.util.Locale.ROOT));
        }
    }

    /** Version from the jar manifest. */
    public static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = AgentMain.class.getPackage().getImplementationVersion();
            return new String[] {"attestmesh agent " + (v == null ? "development build" : v)};
        }
    }
}
