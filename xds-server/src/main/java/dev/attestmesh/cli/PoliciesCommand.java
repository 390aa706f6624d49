package dev.attestmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code attestmesh policies [list|get ID|apply FILE|delete ID]}: the control plane's policy set. */
@Command(name = "policies", mixinStandardHelpOptions = true,
        description = "List, show, apply (create or update from a YAML/JSON file) or delete policies.")
final class PoliciesCommand implements Callable<Integer> {
    @Mixin
    AdminApiOptions admin;

    @Parameters(index = "0", arity = "0..1", defaultValue = "list", paramLabel = "ACTION",
            description = "list (default), get, apply or delete.")
    String action;

    @Parameters(index = "1", arity = "0..1", paramLabel = "ID|FILE", description = "Policy id (get, delete) or file (apply).")
    String argument;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        AdminApiClient api = admin.client();
        switch (action) {
            case "list" -> {
                out.printf("%-24s %-8s %s%n", "POLICY", "VERSION", "TEE");
                for (JsonNode p : api.get("/api/v1/policies")) {
                    out.printf("%-24s %-8s %s%n", p.path("id").asText(), p.path("version").asText(),
                            String.join(",", AdminApiClient.JSON.convertValue(p.path("tees"), String[].class)));
                }
            }
            case "get" -> {
                out.print(api.get("/api/v1/policies/" + encode(required("a policy id"))).path("document").asText());
                out.flush();
            }
            case "apply" -> {
                Path file = Path.of(required("a policy file"));
                String doc = Files.readString(file, StandardCharsets.UTF_8);
                for (JsonNode c : api.post("/api/v1/policies", "application/yaml", doc)) {
                    out.printf("policy %s: %s (version %s)%n", c.path("id").asText(), c.path("change").asText(),
                            c.path("version").asText());
                }
            }
            case "delete" -> {
                String id = required("a policy id");
                api.delete("/api/v1/policies/" + encode(id));
                out.printf("policy %s deleted%n", id);
            }
            default -> throw new CommandLine.ParameterException(spec.commandLine(),
                    "unknown action '" + action + "'; use list, get ID, apply FILE or delete ID");
        }
        return 0;
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
