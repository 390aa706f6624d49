package dev.attestmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import picocli.CommandLine.Command;

/** {@code attestmesh policies [list|get ID|apply FILE|delete ID|diff FILE]}: the control plane's policy set. */
@Command(name = "policies", mixinStandardHelpOptions = true,
        description = "List, show, apply (create or update from a YAML/JSON file), delete or diff policies; "
                + "--dry-run shows what apply or delete would change.")
final class PoliciesCommand extends DocumentSetCommand {
    @Override
    String noun() {
        return "policy";
    }

    @Override
    String path() {
        return "/api/v1/policies";
    }

    @Override
    void table(PrintWriter out, JsonNode list) {
        out.printf("%-24s %-8s %s%n", "POLICY", "VERSION", "TEE");
        for (JsonNode p : list) {
            out.printf("%-24s %-8s %s%n", p.path("id").asText(), p.path("version").asText(),
                    String.join(",", AdminApiClient.JSON.convertValue(p.path("tees"), String[].class)));
        }
    }
}
