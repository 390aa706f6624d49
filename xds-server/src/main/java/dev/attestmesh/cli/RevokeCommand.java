package dev.attestmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code attestmesh revoke --node ID | --measurement HEX | --policy ID | --tcb-status S | --advisory ID | --registration ID | --platform ID
 * [--reason TEXT] [--dry-run]}; also {@code --list [-o json|yaml]}, {@code --lift RULE_ID [--dry-run]} and
 * {@code --diff FILE}.
 */
@Command(name = "revoke", mixinStandardHelpOptions = true,
        description = "Add a revocation rule (matching nodes are revoked at once and refused at attestation), "
                + "list rules, or lift one.")
final class RevokeCommand implements Callable<Integer> {
    @Mixin
    AdminApiOptions admin;

    static final class Target {
        @Option(names = "--node", paramLabel = "ID", description = "Revoke one node.")
        String node;
        @Option(names = "--measurement", paramLabel = "HEX", description = "Revoke every node with this primary measurement.")
        String measurement;
        @Option(names = "--policy", paramLabel = "ID", description = "Revoke every node holding this policy.")
        String policy;
        @Option(names = "--tcb-status", paramLabel = "S", description = "Revoke every node whose TCB status is S (e.g. OutOfDate).")
        String tcbStatus;
        @Option(names = "--advisory", paramLabel = "ID", description = "Revoke every node whose TCB lists this advisory.")
        String advisory;
        @Option(names = "--registration", paramLabel = "ID",
                description = "Revoke every node whose identity this registration granted.")
        String registration;
        @Option(names = "--platform", paramLabel = "PLATFORM_ID",
                description = "Revoke every node on this platform (sgx-ppid:..., snp-chip:..., sim:...).")
        String platform;
        @Option(names = "--list", description = "List the rules in force.")
        boolean list;
        @Option(names = "--lift", paramLabel = "RULE_ID", description = "Delete a rule and lift the revocations it made.")
        String lift;
        @Option(names = "--diff", paramLabel = "FILE", description = "Compare the rules in force with the rules in FILE "
                + "(YAML or JSON, the shape 'revoke --list -o yaml' prints): which rules would be added and which "
                + "lifted, and the nodes each would revoke or let attest again (the control plane validates each; "
                + "nothing is stored).")
        java.nio.file.Path diff;
    }

    /** At most this many rules and bytes in a {@code --diff} file. */
    static final int MAX_DIFF_RULES = 1_000;
    static final long MAX_DIFF_BYTES = 1 << 20;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Target target;

    @Option(names = "--reason", description = "Why (shown in denials and refusals).")
    String reason;

    @Option(names = "--dry-run", description = "Validate the rule (or the lift) on the control plane and list the nodes "
            + "it would revoke (or lift); store nothing.")
    boolean dryRun;

    @Mixin
    OutputOptions output;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        AdminApiClient api = admin.client();
        String dry = dryRun ? "?dryRun=true" : "";
        if (target.list) {
            JsonNode list = api.get("/api/v1/revocations");
            output.print(out, list, o -> {
                o.printf("%-36s %-12s %-40s %s%n", "RULE", "KIND", "VALUE", "REASON");
                for (JsonNode r : list) {
                    o.printf("%-36s %-12s %-40s %s%n", r.path("id").asText(), r.path("kind").asText(),
                            r.path("value").asText(), r.path("reason").asText());
                }
            });
            return 0;
        }
        if (target.diff != null) {
            return diff(api, out);
        }
        if (target.lift != null) {
            JsonNode removed = api.delete("/api/v1/revocations/" + PoliciesCommand.encode(target.lift) + dry);
            if (dryRun || output.structured()) {
                output.print(out, removed, o -> DryRunPrinter.print(o, removed, false));
                return 0;
            }
            out.printf("lifted rule %s; nodes that may attest again: %s%n", target.lift, names(removed.path("liftedNodes")));
            return 0;
        }
        ObjectNode body = AdminApiClient.JSON.createObjectNode();
        String[] kv = target.node != null ? new String[] {"node", target.node}
                : target.measurement != null ? new String[] {"measurement", target.measurement}
                : target.policy != null ? new String[] {"policy", target.policy}
                : target.tcbStatus != null ? new String[] {"tcb-status", target.tcbStatus}
                : target.registration != null ? new String[] {"registration", target.registration}
                : target.platform != null ? new String[] {"platform", target.platform}
                : new String[] {"advisory", target.advisory};
        body.put("kind", kv[0]).put("value", kv[1]).put("reason", reason == null ? "" : reason);
        JsonNode added = api.post("/api/v1/revocations" + dry, "application/json", body.toString());
        if (dryRun || output.structured()) {
            output.print(out, added, o -> DryRunPrinter.print(o, added, false));
            return 0;
        }
        out.printf("rule %s (%s %s) added; revoked nodes: %s%n", added.path("rule").path("id").asText(), kv[0],
                added.path("rule").path("value").asText(), names(added.path("revokedNodes")));
        return 0;
    }

    /**
     * {@code --diff FILE}: the rules of FILE against those in force, matched by kind and value. Each rule to add is
     * validated by the control plane's dry run (which also names the nodes it would revoke); each rule in force
     * and not in FILE is dry-run lifted. Printed like the other dry runs; nothing is stored.
     */
    private int diff(AdminApiClient api, PrintWriter out) {
        List<JsonNode> wanted = readRules(target.diff);
        JsonNode inForce = api.get("/api/v1/revocations");
        ObjectNode result = AdminApiClient.JSON.createObjectNode().put("dryRun", true);
        var changes = result.putArray("changes");
        var nodes = result.putArray("nodes");
        List<JsonNode> matched = new ArrayList<>();
        for (JsonNode w : wanted) {
            JsonNode current = null;
            for (JsonNode r : inForce) {
                if (sameRule(r, w)) {
                    current = r;
                }
            }
            if (current != null) {
                matched.add(current);
                changes.addObject().put("id", current.path("id").asText()).put("change", "unchanged")
                        .put("before", ruleText(current)).put("after", ruleText(current));
                continue;
            }
            ObjectNode body = AdminApiClient.JSON.createObjectNode().put("kind", w.path("kind").asText())
                    .put("value", w.path("value").asText()).put("reason", w.path("reason").asText(""));
            JsonNode preview = api.post("/api/v1/revocations?dryRun=true", "application/json", body.toString());
            preview.path("changes").forEach(changes::add);
            preview.path("nodes").forEach(nodes::add);
        }
        for (JsonNode r : inForce) {
            if (!matched.contains(r)) {
                JsonNode preview = api.delete("/api/v1/revocations/" + PoliciesCommand.encode(r.path("id").asText())
                        + "?dryRun=true");
                preview.path("changes").forEach(changes::add);
                preview.path("nodes").forEach(nodes::add);
            }
        }
        output.print(out, result, o -> DryRunPrinter.print(o, result, false));
        return 0;
    }

    private static boolean sameRule(JsonNode inForce, JsonNode wanted) {
        String kind = inForce.path("kind").asText();
        if (!kind.equalsIgnoreCase(wanted.path("kind").asText().trim().replace('_', '-'))) {
            return false;
        }
        String a = inForce.path("value").asText();
        String b = wanted.path("value").asText().trim();
        // Ids are case-sensitive; hex values, TCB statuses and advisory ids are compared as the server matches them.
        return switch (kind) {
            case "node", "policy", "registration" -> a.equals(b);
            default -> a.equalsIgnoreCase(b);
        };
    }

    private static String ruleText(JsonNode r) {
        return r.path("kind").asText() + " " + r.path("value").asText();
    }

    /** The rules of a {@code --diff} file: a list of {kind, value, reason?} (other fields, such as id, are ignored). */
    private static List<JsonNode> readRules(java.nio.file.Path file) {
        byte[] bytes;
        try {
            if (java.nio.file.Files.size(file) > MAX_DIFF_BYTES) {
                throw new IllegalArgumentException("--diff " + file + " is over " + MAX_DIFF_BYTES + " bytes");
            }
            bytes = java.nio.file.Files.readAllBytes(file);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("cannot read --diff " + file + ": " + e.getMessage(), e);
        }
        JsonNode doc;
        try {
            doc = new com.fasterxml.jackson.dataformat.yaml.YAMLMapper().readTree(bytes);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("--diff " + file + " is not YAML or JSON: " + e.getMessage(), e);
        }
        if (doc == null || doc.isMissingNode() || doc.isNull()) {
            return List.of(); // an empty file: no rule should be in force
        }
        if (!doc.isArray()) {
            throw new IllegalArgumentException("--diff " + file + " must be a list of rules ({kind, value, reason}), "
                    + "as 'revoke --list -o yaml' prints");
        }
        if (doc.size() > MAX_DIFF_RULES) {
            throw new IllegalArgumentException("--diff " + file + " has " + doc.size() + " rules; at most "
                    + MAX_DIFF_RULES);
        }
        List<JsonNode> rules = new ArrayList<>();
        int i = 0;
        for (JsonNode r : doc) {
            i++;
            if (!r.isObject() || !r.path("kind").isTextual() || !r.path("value").isTextual()) {
                throw new IllegalArgumentException("--diff " + file + ": rule " + i + " needs text 'kind' and 'value'");
            }
            rules.add(r);
        }
        return rules;
    }

    private static String names(JsonNode list) {
        List<String> out = new ArrayList<>();
        list.forEach(n -> out.add(n.asText()));
        return out.isEmpty() ? "none" : String.join(", ", out);
    }
}
