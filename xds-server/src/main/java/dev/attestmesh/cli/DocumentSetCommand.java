package dev.attestmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The shape shared by {@code attestmesh policies} and {@code attestmesh registrations}: {@code list},
 * {@code get ID}, {@code apply FILE}, {@code delete ID} and {@code diff FILE} on one versioned document set of
 * the admin API. {@code --dry-run} on apply and delete asks the control plane to validate the write and say
 * what it would change ({@code ?dryRun=true}) without storing it; {@code diff} does the same and prints the
 * unified diff between each live document and the proposed one.
 */
abstract class DocumentSetCommand implements Callable<Integer> {
    @Mixin
    AdminApiOptions admin;

    @Mixin
    OutputOptions output;

    @Parameters(index = "0", arity = "0..1", defaultValue = "list", paramLabel = "ACTION",
            description = "list (default), get ID, apply FILE, delete ID or diff FILE.")
    String action;

    @Parameters(index = "1", arity = "0..1", paramLabel = "ID|FILE", description = "Id (get, delete) or file (apply, diff).")
    String argument;

    @Option(names = "--dry-run", description = "apply/delete: validate on the control plane and show what would change "
            + "(documents and affected nodes); store nothing.")
    boolean dryRun;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The singular name used in messages ({@code policy}). */
    abstract String noun();

    /** The collection path ({@code /api/v1/policies}). */
    abstract String path();

    /** Prints the list as a table. */
    abstract void table(PrintWriter out, JsonNode list);

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        AdminApiClient api = admin.client();
        switch (action) {
            case "list" -> {
                JsonNode list = api.get(path());
                output.print(out, list, o -> table(o, list));
            }
            case "get" -> {
                JsonNode one = api.get(path() + "/" + encode(required("an id")));
                output.print(out, one, o -> o.print(one.path("document").asText()));
            }
            case "apply", "diff" -> {
                String doc = read(Path.of(required("a file")));
                boolean preview = dryRun || action.equals("diff");
                JsonNode r = api.post(path() + (preview ? "?dryRun=true" : ""), "application/yaml", doc);
                output.print(out, r, o -> {
                    if (preview) {
                        DryRunPrinter.print(o, r, action.equals("diff"));
                    } else {
                        for (JsonNode c : r) {
                            o.printf("%s %s: %s (version %s)%n", noun(), c.path("id").asText(), c.path("change").asText(),
                                    c.path("version").asText());
                        }
                    }
                });
            }
            case "delete" -> {
                String id = required("an id");
                JsonNode r = api.delete(path() + "/" + encode(id) + (dryRun ? "?dryRun=true" : ""));
                if (dryRun) {
                    output.print(out, r, o -> DryRunPrinter.print(o, r, false));
                } else {
                    out.printf("%s %s deleted%s%n", noun(), id, deletedNote());
                }
            }
            default -> throw new CommandLine.ParameterException(spec.commandLine(),
                    "unknown action '" + action + "'; use list, get ID, apply FILE, delete ID or diff FILE");
        }
        return 0;
    }

    /** Appended to the delete confirmation. */
    String deletedNote() {
        return "";
    }

    private static String read(Path file) throws java.io.IOException {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.IOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private String required(String what) {
        if (argument == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "'" + action + "' needs " + what);
        }
        return argument;
    }

    static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
