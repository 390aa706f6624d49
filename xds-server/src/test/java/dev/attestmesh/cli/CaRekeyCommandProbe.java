package dev.attestmesh.cli;

import java.io.PrintWriter;
import java.util.Map;
import picocli.CommandLine;

/** Runs {@code ca rekey} with a given environment (tests elsewhere cannot set this JVM's). */
public final class CaRekeyCommandProbe {
    private CaRekeyCommandProbe() {}

    public static int run(Map<String, String> env, PrintWriter out, PrintWriter err, String... args) {
        CaRekeyCommand command = new CaRekeyCommand();
        command.environment = env;
        command.properties = Map.of();
        CommandLine cl = new CommandLine(command);
        cl.setOut(out).setErr(err).setExecutionExceptionHandler((ex, cmd, parse) -> {
            cmd.getErr().println("attestmesh: " + ex.getMessage());
            return 1;
        });
        return cl.execute(args);
    }
}
