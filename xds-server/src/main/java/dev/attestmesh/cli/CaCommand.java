package dev.attestmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code attestmesh ca rotate}: rotates the mesh CA's issuing intermediate (admin role). */
@Command(name = "ca", mixinStandardHelpOptions = true, description = "Mesh CA operations.",
        subcommands = CaCommand.Rotate.class)
final class CaCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: rotate");
    }

    /** Rotates the issuing intermediate; the old one stays trusted for the overlap. */
    @Command(name = "rotate", mixinStandardHelpOptions = true,
            description = "Rotate the issuing intermediate; the previous one stays in the trust bundle for --overlap.")
    static final class Rotate implements Callable<Integer> {
        @Mixin
        AdminApiOptions admin;

        @Option(names = "--overlap", defaultValue = "PT24H", description = "ISO-8601 duration (default ${DEFAULT-VALUE}).")
        String overlap;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            JsonNode r = admin.client().post("/api/v1/ca/rotate-intermediate", "application/json",
                    AdminApiClient.JSON.createObjectNode().put("overlap", overlap).toString());
            out.printf("rotated: new intermediate %s (serial %s, sha256 %s); previous trusted until %s; bundle has %d "
                    + "certificates%n", r.path("intermediateSubject").asText(), r.path("intermediateSerial").asText(),
                    r.path("intermediateSha256").asText(), r.path("overlapEnds").asText(), r.path("trustBundleSize").asInt());
            return 0;
        }
    }
}
