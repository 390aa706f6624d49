package dev.attestmesh.cli;

import com.github.difflib.DiffUtils;
import com.github.difflib.UnifiedDiffUtils;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * Prints a dry run's answer ({@code ?dryRun=true} on a write): for {@code --dry-run} each object's change
 * and each node that would change; for {@code diff} also the unified diff between each object's live
 * document and the one proposed (documents as the control plane would store them).
 */
final class DryRunPrinter {
    private DryRunPrinter() {}

    static void print(PrintWriter out, JsonNode result, boolean diff) {
        for (JsonNode c : result.path("changes")) {
            String id = c.path("id").asText();
            out.printf("%s: %s%n", id, c.path("change").asText());
            if (diff && !c.path("change").asText().equals("unchanged")
                    && (c.path("before").isTextual() || c.path("after").isTextual())) {
                List<String> before = lines(c.path("before"));
                List<String> after = lines(c.path("after"));
                List<String> unified = UnifiedDiffUtils.generateUnifiedDiff("live/" + id, "proposed/" + id, before,
                        DiffUtils.diff(before, after), 3);
                unified.forEach(out::println);
            }
        }
        JsonNode nodes = result.path("nodes");
        if (nodes.isEmpty()) {
            out.println("no node would change");
        }
        for (JsonNode n : nodes) {
            List<String> parts = new ArrayList<>();
            if (!n.path("policiesLost").isEmpty()) {
                parts.add("loses policies " + join(n.path("policiesLost")));
            }
            if (!n.path("policiesGained").isEmpty()) {
                parts.add("gains policies " + join(n.path("policiesGained")));
            }
            if (!n.path("detail").asText().isEmpty()) {
                parts.add(n.path("detail").asText());
            }
            out.printf("node %s would be %s%s%n", n.path("nodeId").asText(), n.path("effect").asText()
                    .replace("loses-identity", "withdrawn (loses its identity)").replace("policies-change", "re-appraised")
                    .replace("mesh-change", "reconfigured"), parts.isEmpty() ? "" : ": " + String.join("; ", parts));
        }
        out.println("dry run: nothing was changed");
        out.flush();
    }

    private static List<String> lines(JsonNode text) {
        return text.isTextual() ? text.asText().lines().toList() : List.of();
    }

    private static String join(JsonNode list) {
        List<String> out = new ArrayList<>();
        list.forEach(n -> out.add(n.asText()));
        return String.join(",", out);
    }
}
