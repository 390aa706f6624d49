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
 * {@code attestmesh registrations [list|get ID|apply FILE|delete ID|diff FILE]}: the registrations that decide which
 * SPIFFE ID an attested node may earn.
 */
@Command(name = "registrations", mixinStandardHelpOptions = true,
        description = "List, show, apply (create or update from a YAML/JSON file), delete or diff registrations; "
                + "--dry-run shows what apply or delete would change (which nodes would lose their identity).")
final class RegistrationsCommand extends DocumentSetCommand {
    @Override
    String noun() {
        return "registration";
    }

    @Override
    String path() {
        return "/api/v1/registrations";
    }

    @Override
    String deletedNote() {
        return "; nodes that held its identity lost it";
    }

    @Override
    void table(PrintWriter out, JsonNode list) {
        out.printf("%-24s %-8s %-48s %-20s %s%n", "REGISTRATION", "VERSION", "SPIFFE ID", "POLICIES", "SELECTORS");
        for (JsonNode r : list) {
            List<String> policies = new ArrayList<>();
            r.path("policies").forEach(p -> policies.add(p.asText()));
            out.printf("%-24s %-8s %-48s %-20s %s%n", r.path("id").asText(), r.path("version").asText(),
                    r.path("spiffeId").asText(), String.join(",", policies), selectors(r));
        }
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
}
