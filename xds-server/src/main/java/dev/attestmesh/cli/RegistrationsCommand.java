package dev.attestmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * {@code attestmesh registrations [list|get ID|apply FILE|delete ID]}: the registrations that decide which
 * SPIFFE ID an attested node may earn.
 */
@Command(name = "registrations", mixinStandardHelpOptions = true,
        description = "List, show, apply (create or update from a YAML/JSON file) or delete registrations.")
final class RegistrationsCommand implements Callable<Integer> {
    @Mixin
    AdminApiOptions admin;

    @Parameters(index = "0", arity = "0..1", defaultValue = "list", paramLabel = "ACTION",
            description = "list (default), get, apply or delete.")
    String action;

    @Parameters(index = "1", arity = "0..1", paramLabel = "ID|FILE",
            description = "Registration id (get, delete) or file (apply).")
    String argument;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        AdminApiClient api = admin.client();
        switch (action) {
            case "list" -> {
                out.printf("%-24s %-8s %-48s %-20s %s%n", "REGISTRATION", "VERSION", "SPIFFE ID", "POLICIES", "SELECTORS");
                for (JsonNode r : api.get("/api/v1/registrations")) {
                    List<String> policies = new ArrayList<>();
                    r.path("policies").forEach(p -> policies.add(p.asText()));
                    out.printf("%-24s %-8s %-48s %-20s %s%n", r.path("id").asText(), r.path("version").asText(),
                            r.path("spiffeId").asText(), String.join(",", policies), selectors(r));
                }
            }
            case "get" -> {
                out.print(api.get("/api/v1/registrations/" + PoliciesCommand.encode(required("a registration id")))
                        .path("document").asText());
                out.flush();
            }
            case "apply" -> {
                Path file = Path.of(required("a registration file"));
                String doc = Files.readString(file, StandardCharsets.UTF_8);
                for (JsonNode c : api.post("/api/v1/registrations", "application/yaml", doc)) {
                    out.printf("registration %s: %s (version %s)%n", c.path("id").asText(), c.path("change").asText(),
                            c.path("version").asText());
                }
            }
            case "delete" -> {
                String id = required("a registration id");
                api.delete("/api/v1/registrations/" + PoliciesCommand.encode(id));
                out.printf("registration %s deleted; nodes that held its identity lost it%n", id);
            }
            default -> throw new CommandLine.ParameterException(spec.commandLine(),
                    "unknown action '" + action + "'; use list, get ID, apply FILE or delete ID");
        }
        return 0;
    }

    /** The selectors and instance limit in one cell: {@code k8s=ns/sa node=glob max=N}, or {@code -}. */
    private static String selectors(JsonNode r) {
        List<String> parts = new ArrayList<>();
        JsonNode k = r.path("selectors").path("kubernetes");
        if (k.isObject()) {
            parts.add("k8s=" + k.path("namespace").asText() + "/" + k.path("serviceAccount").asText());
        }
        if (r.path("selectors").path("nodeId").isTextual()) {
            parts.add("node=" + r.path("selectors").path("nodeId").asText());
        }
        if (r.path("maxInstances").isNumber()) {
            parts.add("max=" + r.path("maxInstances").asText());
        }
        return parts.isEmpty() ? "-" : String.join(" ", parts);
    }

    private String required(String what) {
        if (argument == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "'" + action + "' needs " + what);
        }
        return argument;
    }
}
