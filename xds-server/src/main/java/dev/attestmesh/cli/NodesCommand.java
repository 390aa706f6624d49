package dev.attestmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code attestmesh nodes [ID]}: lists nodes, or shows one node in detail (JSON). */
@Command(name = "nodes", mixinStandardHelpOptions = true,
        description = "List attested nodes with state, policies, certificate expiry and xDS sync; or show one node.")
final class NodesCommand implements Callable<Integer> {
    @Mixin
    AdminApiOptions admin;

    @Parameters(arity = "0..1", paramLabel = "ID", description = "Node id to show in detail.")
    String nodeId;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        AdminApiClient api = admin.client();
        if (nodeId != null) {
            out.println(AdminApiClient.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(
                    api.get("/api/v1/nodes/" + URLEncoder.encode(nodeId, StandardCharsets.UTF_8))));
            return 0;
        }
        JsonNode nodes = api.get("/api/v1/nodes");
        out.printf("%-24s %-4s %-9s %-28s %-22s %s%n", "NODE", "TEE", "STATE", "POLICIES", "CERT EXPIRES", "XDS (LDS CDS EDS SDS)");
        for (JsonNode n : nodes) {
            List<String> policies = new ArrayList<>();
            n.path("satisfiedPolicies").forEach(p -> policies.add(p.path("id").asText() + "@v" + p.path("version").asText()
                    + (p.path("current").asBoolean() ? "" : "(stale)")));
            List<String> xds = new ArrayList<>();
            for (String t : List.of("Listener", "Cluster", "ClusterLoadAssignment", "Secret")) {
                n.path("xds").properties().forEach(e -> {
                    if (e.getKey().endsWith("." + t)) {
                        xds.add(e.getValue().path("state").asText());
                    }
                });
            }
            out.printf("%-24s %-4s %-9s %-28s %-22s %s%n", n.path("nodeId").asText(), n.path("tee").asText(),
                    n.path("state").asText(), String.join(",", policies), n.path("certificateNotAfter").asText(),
                    String.join(" ", xds));
        }
        return 0;
    }
}
