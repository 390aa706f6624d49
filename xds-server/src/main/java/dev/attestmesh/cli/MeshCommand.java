package dev.attestmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code attestmesh mesh get}, {@code attestmesh mesh apply FILE [--dry-run]} and {@code attestmesh mesh diff
 * FILE}: read, replace, or preview a replacement of the mesh config through the admin API
 * ({@code /api/v1/mesh}) with a bearer token.
 */
@Command(name = "mesh", mixinStandardHelpOptions = true,
        description = "Show, replace or diff the mesh config (services, ingress/egress ports, required policies).",
        subcommands = {MeshCommand.Get.class, MeshCommand.Apply.class, MeshCommand.Diff.class})
final class MeshCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: get, apply FILE or diff FILE");
    }

    static String read(Path file) throws IOException {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IOException("cannot read mesh config file " + file + ": " + e.getMessage(), e);
        }
    }

    @Command(name = "get", mixinStandardHelpOptions = true,
            description = "Show the mesh config in force: version, digest and services (table), or the whole answer "
                    + "with its document (-o json|yaml).")
    static final class Get implements Callable<Integer> {
        @Mixin
        AdminApiOptions admin;
        @Mixin
        OutputOptions output;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            JsonNode m = admin.client().get("/api/v1/mesh");
            output.print(spec.commandLine().getOut(), m, out -> {
                out.printf("%-8s %-10s %-26s %s%n", "VERSION", "SERVICES", "UPDATED", "SHA-256");
                out.printf("%-8s %-10s %-26s %s%n", m.path("version").asText(), m.path("services").asText(),
                        m.path("updatedAt").asText(), m.path("sha256").asText());
                out.print(m.path("document").asText());
            });
            return 0;
        }
    }

    @Command(name = "apply", mixinStandardHelpOptions = true,
            description = "Validate and replace the mesh config with FILE (YAML or JSON); all problems are listed. "
                    + "--dry-run validates and shows what would change, storing nothing.")
    static final class Apply implements Callable<Integer> {
        @Mixin
        AdminApiOptions admin;
        @Mixin
        OutputOptions output;
        @Parameters(paramLabel = "FILE", description = "Mesh config document.")
        Path file;
        @Option(names = "--dry-run", description = "Validate on the control plane and show the effect; store nothing.")
        boolean dryRun;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            JsonNode r = admin.client().put("/api/v1/mesh" + (dryRun ? "?dryRun=true" : ""), "application/yaml", read(file));
            PrintWriter out = spec.commandLine().getOut();
            output.print(out, r, o -> {
                if (dryRun) {
                    DryRunPrinter.print(o, r, false);
                } else {
                    o.printf("mesh config version %s in force: %s service(s)%n", r.path("version").asText(),
                            r.path("services").asText());
                }
            });
            return 0;
        }
    }

    @Command(name = "diff", mixinStandardHelpOptions = true,
            description = "Show how FILE differs from the mesh config in force (unified diff), which services change "
                    + "and which nodes would be reconfigured; the control plane validates FILE and stores nothing.")
    static final class Diff implements Callable<Integer> {
        @Mixin
        AdminApiOptions admin;
        @Mixin
        OutputOptions output;
        @Parameters(paramLabel = "FILE", description = "Proposed mesh config document.")
        Path file;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            JsonNode r = admin.client().put("/api/v1/mesh?dryRun=true", "application/yaml", read(file));
            output.print(spec.commandLine().getOut(), r, o -> DryRunPrinter.print(o, r, true));
            return 0;
        }
    }
}
