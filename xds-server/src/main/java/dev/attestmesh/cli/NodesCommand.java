package dev.attestmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
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
        description = "List attested nodes with state, registration, policies, certificate expiry and xDS sync "
                + "(filtered, paged, or watched); or show one node.",
        subcommands = NodesCommand.Release.class)
final class NodesCommand implements Callable<Integer> {
    /** Shortest and longest --interval accepted, so a watch neither floods the API nor goes quiet. */
    static final Duration MIN_INTERVAL = Duration.ofMillis(200);
    static final Duration MAX_INTERVAL = Duration.ofMinutes(10);

    @Mixin
    AdminApiOptions admin;

    @Mixin
    OutputOptions output;

    @Parameters(arity = "0..1", paramLabel = "ID", description = "Node id to show in detail.")
    String nodeId;

    @Option(names = "--state", paramLabel = "STATE", description = "Only nodes in this state (ATTESTED, REVOKED, ...).")
    String state;

    @Option(names = "--tee", paramLabel = "TEE", description = "Only nodes of this TEE (sgx, tdx, snp, ...).")
    String tee;

    @Option(names = "--policy", paramLabel = "ID", description = "Only nodes satisfying this policy.")
    String policy;

    @Option(names = "--registration", paramLabel = "ID", description = "Only nodes whose identity this registration granted.")
    String registration;

    @Option(names = "--expiring-before", paramLabel = "INSTANT",
            description = "Only nodes whose certificate expires before this ISO-8601 instant (2025-01-31T00:00:00Z).")
    Instant expiringBefore;

    @Option(names = "--limit", paramLabel = "N", description = "At most N nodes (1..10000).")
    Integer limit;

    @Option(names = "--offset", paramLabel = "N", description = "Skip the first N nodes (paging).")
    Integer offset;

    @Option(names = {"-w", "--watch"}, description = "List again whenever the list changes, until interrupted (Ctrl-C).")
    boolean watch;

    @Option(names = "--interval", paramLabel = "DURATION", defaultValue = "PT2S",
            description = "How often --watch asks the control plane (ISO-8601, 200 ms..10 min; default ${DEFAULT-VALUE}).")
    Duration interval;

    /** Tests bound a watch by the number of lists printed; 0 = until interrupted. */
    @Option(names = "--watch-count", hidden = true, defaultValue = "0")
    int watchCount;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        AdminApiClient api = admin.client();
        if (nodeId != null) {
            JsonNode one = api.get("/api/v1/nodes/" + URLEncoder.encode(nodeId, StandardCharsets.UTF_8));
            output.print(out, one, o -> o.println(OutputOptions.json(one)));
            return 0;
        }
        if (limit != null && (limit < 1 || limit > 10_000)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--limit must be 1..10000, got " + limit);
        }
        if (offset != null && offset < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--offset must be >= 0, got " + offset);
        }
        String path = "/api/v1/nodes" + query();
        if (!watch) {
            JsonNode nodes = api.get(path);
            output.print(out, nodes, o -> table(o, nodes));
            return 0;
        }
        if (interval.compareTo(MIN_INTERVAL) < 0 || interval.compareTo(MAX_INTERVAL) > 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--interval must be between 200 ms and 10 min, got "
                    + interval);
        }
        // Polls: the admin API has no push channel the CLI could hold open, and a bounded interval keeps the
        // load on the control plane known. Only a changed answer is printed again.
        JsonNode last = null;
        int printed = 0;
        while (!Thread.currentThread().isInterrupted()) {
            JsonNode nodes = api.get(path);
            if (!nodes.equals(last)) {
                if (last != null && !output.structured()) {
                    out.println();
                }
                JsonNode shown = nodes;
                output.print(out, nodes, o -> {
                    o.println("# " + Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
                    table(o, shown);
                });
                last = nodes;
                if (++printed == watchCount) {
                    return 0;
                }
            }
            try {
                Thread.sleep(interval);
            } catch (InterruptedException e) {
                return 0; // Ctrl-C: the shutdown hook interrupts; exit cleanly
            }
        }
        return 0;
    }

    /**
     * The filters as the list endpoint's query parameters ({@code state}, {@code tee}, {@code policy},
     * {@code registration}, {@code expiringBefore}, {@code limit}, {@code offset}); the control plane
     * filters and pages (a control plane older than these parameters ignores them and lists every node).
     */
    private String query() {
        List<String> q = new ArrayList<>();
        add(q, "state", state);
        add(q, "tee", tee);
        add(q, "policy", policy);
        add(q, "registration", registration);
        add(q, "expiringBefore", expiringBefore == null ? null : expiringBefore.toString());
        add(q, "limit", limit == null ? null : limit.toString());
        add(q, "offset", offset == null ? null : offset.toString());
        return q.isEmpty() ? "" : "?" + String.join("&", q);
    }

    private static void add(List<String> q, String name, String value) {
        if (value != null) {
            q.add(name + "=" + URLEncoder.encode(value, StandardCharsets.UTF_8));
        }
    }

    private static void table(PrintWriter out, JsonNode nodes) {
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
