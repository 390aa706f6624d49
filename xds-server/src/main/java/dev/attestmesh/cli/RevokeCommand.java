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
 * [--reason TEXT] [--dry-run]}; also {@code --list [-o json|yaml]} and {@code --lift RULE_ID [--dry-run]}.
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
    }

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

    private static String names(JsonNode list) {
        List<String> out = new ArrayList<>();
        list.forEach(n -> out.add(n.asText()));
        return out.isEmpty() ? "none" : String.join(", ", out);
    }
}
