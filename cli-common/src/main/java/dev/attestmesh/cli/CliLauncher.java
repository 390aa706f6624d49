package dev.attestmesh.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import picocli.CommandLine;

/**
 * Runs a picocli command the way every AttestMesh executable does: {@code --config FILE} (or
 * {@code ATTESTMESH_CONFIG}) names a properties file, options default from {@code ATTESTMESH_<OPTION>} then from
 * that file, and a failure of the command is printed as one line prefixed with the program name, exit status 1.
 * Shared by {@code attestmesh} (xds-server) and {@code attestmesh-agent} (node-agent).
 */
public final class CliLauncher {
    private CliLauncher() {
    }

    /** Exit status: 0 ok, 1 refused/failed, 2 usage or unreadable configuration file. */
    public static int execute(CommandLine cl, String program, String... args) {
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
                new PrintWriter(System.err, true).println(program + ": cannot read configuration file " + config + ": "
                        + e.getMessage());
                return 2;
            }
        }
        cl.setDefaultValueProvider(new EnvironmentDefaultProvider(System.getenv(), file))
                .setExecutionExceptionHandler((ex, cmd, parse) -> {
                    cmd.getErr().println(program + ": " + ex.getMessage());
                    return 1;
                });
        return cl.execute(rest.toArray(String[]::new));
    }
}
