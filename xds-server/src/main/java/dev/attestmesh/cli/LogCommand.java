package dev.attestmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code attestmesh log verify}: checks the issuance log's hash chain on the control plane. */
@Command(name = "log", mixinStandardHelpOptions = true, description = "Issuance log operations.",
        subcommands = LogCommand.Verify.class)
final class LogCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: verify");
    }

    /** Prints OK with the entry count, or the first broken entry (exit 1). */
    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Verify every hash and link of the issuance log; exit 1 when it is broken.")
    static final class Verify implements Callable<Integer> {
        @Mixin
        AdminApiOptions admin;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            JsonNode v = admin.client().post("/api/v1/issuance-log/verify", "application/json", "");
            if (v.path("intact").asBoolean()) {
                out.printf("OK: issuance log intact, %d entries verified%n", v.path("entriesChecked").asLong());
                return 0;
            }
            out.printf("BROKEN: entry %d: %s (%d entries checked)%n", v.path("firstBrokenSequence").asLong(),
                    v.path("problem").asText(), v.path("entriesChecked").asLong());
            return 1;
        }
    }
}
