package dev.attestmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code attestmesh secrets put|list|show|delete|import|unimport}: operator secrets released only to attested nodes
 * (docs/secrets.md). Values go to the control plane and never come back: {@code show} prints metadata only.
 */
@Command(name = "secrets", mixinStandardHelpOptions = true,
        description = "Store secrets that only attested nodes receive (agent files, SDS secret:<name>).",
        subcommands = {SecretsCommand.Put.class, SecretsCommand.ListSecrets.class, SecretsCommand.Show.class,
                SecretsCommand.Remove.class, SecretsCommand.Import.class, SecretsCommand.Unimport.class,
                SecretsCommand.RotateSealing.class, SecretsCommand.RetireSealing.class})
final class SecretsCommand implements Runnable {
    /** The largest value accepted (as the control plane bounds it). */
    static final int MAX_VALUE_BYTES = 64 * 1024;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a secrets command is required (see --help)");
    }

    @Command(name = "put", mixinStandardHelpOptions = true,
            description = "Store FILE's bytes as the next version of NAME; nodes get it on their next push/renewal.")
    static final class Put implements Callable<Integer> {
        @Mixin
        AdminApiOptions admin;
        @Parameters(index = "0", paramLabel = "NAME", description = "[a-z0-9][a-z0-9._-]{0,62}")
        String name;
        @Option(names = "--from-file", required = true, paramLabel = "FILE", description = "The value (at most 64 KiB).")
        Path file;
        @Option(names = "--allow", required = true, paramLabel = "RULE",
                description = "registration:<id> or policy:<id>; repeatable (a node satisfying any receives it).")
        List<String> allow = new ArrayList<>();
        @Option(names = "--export", paramLabel = "RULE",
                description = "A rule that may import this secret (attestmesh secrets import); repeatable.")
        List<String> exports = new ArrayList<>();
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            byte[] value = readBounded(file);
            try {
                ObjectNode body = AdminApiClient.JSON.createObjectNode();
                body.put("value", Base64.getEncoder().encodeToString(value));
                ArrayNode a = body.putArray("allow");
                allow.forEach(a::add);
                ArrayNode e = body.putArray("exports");
                exports.forEach(e::add);
                JsonNode m = admin.client().put("/api/v1/secrets/" + PoliciesCommand.encode(name), "application/json",
                        body.toString());
                spec.commandLine().getOut().printf("stored %s v%d (%d bytes); released to %s%n", m.path("name").asText(),
                        m.path("currentVersion").asLong(), value.length, m.path("effectiveRule"));
                return 0;
            } finally {
                java.util.Arrays.fill(value, (byte) 0);
            }
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List secrets (metadata only).")
    static final class ListSecrets implements Callable<Integer> {
        @Mixin
        AdminApiOptions admin;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Mixin
        OutputOptions output;

        @Override
        public Integer call() {
            JsonNode list = admin.client().get("/api/v1/secrets");
            output.print(spec.commandLine().getOut(), list, out -> {
                out.printf("%-24s %-8s %s%n", "NAME", "VERSION", "RELEASED TO");
                for (JsonNode s : list) {
                    out.printf("%-24s v%-7d %s%n", s.path("name").asText(), s.path("currentVersion").asLong(),
                            s.path("effectiveRule"));
                }
            });
            return 0;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true,
            description = "Show a secret's rules, imports and versions (never its value).")
    static final class Show implements Callable<Integer> {
        @Mixin
        AdminApiOptions admin;
        @Parameters(index = "0", paramLabel = "NAME")
        String name;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Mixin
        OutputOptions output;

        @Override
        public Integer call() throws IOException {
            JsonNode m = admin.client().get("/api/v1/secrets/" + PoliciesCommand.encode(name));
            // the table of one secret is its JSON: rules, imports and versions nest
            output.print(spec.commandLine().getOut(), m, out -> out.println(OutputOptions.json(m)));
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true,
            description = "Delete a secret; nodes lose it on their next push/renewal.")
    static final class Remove implements Callable<Integer> {
        @Mixin
        AdminApiOptions admin;
        @Parameters(index = "0", paramLabel = "NAME")
        String name;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            admin.client().delete("/api/v1/secrets/" + PoliciesCommand.encode(name));
            spec.commandLine().getOut().printf("deleted %s%n", name);
            return 0;
        }
    }

    @Command(name = "import", mixinStandardHelpOptions = true,
            description = "Import secret NAME into another rule by reference; its owner must --export to that rule.")
    static final class Import implements Callable<Integer> {
        @Mixin
        AdminApiOptions admin;
        @Parameters(index = "0", paramLabel = "NAME")
        String name;
        @Option(names = "--into", required = true, paramLabel = "RULE", description = "registration:<id> or policy:<id>")
        String into;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            ObjectNode body = AdminApiClient.JSON.createObjectNode().put("into", into);
            JsonNode m = admin.client().post("/api/v1/secrets/" + PoliciesCommand.encode(name) + "/imports",
                    "application/json", body.toString());
            spec.commandLine().getOut().printf("%s imported into %s; released to %s%n", name, into,
                    m.path("effectiveRule"));
            return 0;
        }
    }

    @Command(name = "unimport", mixinStandardHelpOptions = true, description = "Remove an import of secret NAME.")
    static final class Unimport implements Callable<Integer> {
        @Mixin
        AdminApiOptions admin;
        @Parameters(index = "0", paramLabel = "NAME")
        String name;
        @Option(names = "--from", required = true, paramLabel = "RULE", description = "The imported rule to remove.")
        String from;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            JsonNode m = admin.client().delete("/api/v1/secrets/" + PoliciesCommand.encode(name) + "/imports/"
                    + PoliciesCommand.encode(from));
            spec.commandLine().getOut().printf("%s no longer imported into %s; released to %s%n", name, from,
                    m.path("effectiveRule"));
            return 0;
        }
    }

    @Command(name = "rotate-sealing", mixinStandardHelpOptions = true,
            description = "Give a sealing policy a new active key; the old one still opens older files until retired.")
    static final class RotateSealing implements Callable<Integer> {
        @Mixin
        AdminApiOptions admin;
        @Option(names = "--policy", required = true, paramLabel = "ID")
        String policy;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            JsonNode r = admin.client().post("/api/v1/sealing-keys/" + PoliciesCommand.encode(policy) + "/rotate",
                    "application/json", "{}");
            spec.commandLine().getOut().printf("policy '%s' now seals to key %s%n", policy, r.path("keyId").asText());
            return 0;
        }
    }

    @Command(name = "retire-sealing", mixinStandardHelpOptions = true,
            description = "Retire a previous sealing key: no node receives it again, files sealed to it stay closed.")
    static final class RetireSealing implements Callable<Integer> {
        @Mixin
        AdminApiOptions admin;
        @Option(names = "--policy", required = true, paramLabel = "ID")
        String policy;
        @Option(names = "--key-id", required = true, paramLabel = "HEX")
        String keyId;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            admin.client().post("/api/v1/sealing-keys/" + PoliciesCommand.encode(policy) + "/"
                    + PoliciesCommand.encode(keyId) + "/retire", "application/json", "{}");
            spec.commandLine().getOut().printf("retired key %s of policy '%s'%n", keyId, policy);
            return 0;
        }
    }

    /** Reads at most {@link #MAX_VALUE_BYTES} (+1, to tell a larger file) so a huge file is never loaded. */
    static byte[] readBounded(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] b = in.readNBytes(MAX_VALUE_BYTES + 1);
            if (b.length > MAX_VALUE_BYTES) {
                throw new IllegalArgumentException(file + " is larger than " + MAX_VALUE_BYTES
                        + " bytes (64 KiB), the most a secret may hold");
            }
            return b;
        }
    }
}
