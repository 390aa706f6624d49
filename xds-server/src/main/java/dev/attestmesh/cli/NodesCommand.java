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
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code attestmesh nodes [ID]}: lists nodes, or shows one node in detail (JSON); {@code attestmesh nodes
 * release ID [--reason TEXT]} releases a node id from the key that holds it.
 */
@Command(name = "nodes", mixinStandardHelpOptions = true,
        description = "List attested nodes with state, registration, policies, certificate expiry and xDS sync; "
                + "or show one node.",
        subcommands = NodesCommand.Release.class)
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
        out.printf("%-24s %-4s %-9s %-20s %-28s %-22s %s%n", "NODE", "TEE", "STATE", "REGISTRATION", "POLICIES",
                "CERT EXPIRES", "XDS (LDS CDS EDS SDS)");
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
            String registration = n.path("registration").asText("");
            out.printf("%-24s %-4s %-9s %-20s %-28s %-22s %s%n", n.path("nodeId").asText(), n.path("tee").asText(),
                    n.path("state").asText(), registration.isEmpty() ? "-" : registration, String.join(",", policies),
                    n.path("certificateNotAfter").asText(), String.join(" ", xds));
        }
        return 0;
    }

    /** {@code attestmesh nodes release ID [--reason TEXT]}: lets another key attest under the node id. */
    @Command(name = "release", mixinStandardHelpOptions = true,
            description = "Release a node id from the key that attested it, so another key may attest under it "
                    + "(e.g. after the machine was replaced). The node loses its identity at once.")
    static final class Release implements Callable<Integer> {
        @Mixin
        AdminApiOptions admin;

        @Parameters(index = "0", paramLabel = "ID", description = "Node id to release.")
        String nodeId;

        @Option(names = "--reason", paramLabel = "TEXT",
                description = "Why (one line, at most 256 characters; recorded in the node's state reason).")
        String reason;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            com.fasterxml.jackson.databind.node.ObjectNode body = AdminApiClient.JSON.createObjectNode();
            if (reason != null) {
                body.put("reason", reason);
            }
            JsonNode n = admin.client().post("/api/v1/nodes/" + URLEncoder.encode(nodeId, StandardCharsets.UTF_8)
                    + "/release", "application/json", body.toString()).path("node");
            out.printf("node %s released: state %s (%s); another key may attest under it now%n",
                    n.path("nodeId").asText(), n.path("state").asText(), n.path("stateReason").asText());
            return 0;
        }
    }
}
