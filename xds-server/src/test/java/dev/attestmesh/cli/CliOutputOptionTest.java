package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Every read command of the {@code attestmesh} command tree takes {@code -o table|json|yaml}. The rule: a command
 * either has {@code -o} with those three formats, or is named in {@link #EXEMPT} with the reason (a group that only
 * holds subcommands, a long-running process, a write, or a command whose output is a file or script). A new
 * command therefore cannot forget {@code -o} without saying why here. Read commands that run offline are also run
 * with {@code -o json} and {@code -o yaml}, and their output must parse. The {@code agent} and {@code demo} commands
 * of the full CLI are checked in the {@code attestmesh-cli} module.
 */
class CliOutputOptionTest {
    /** Commands without {@code -o}, by their full name, and why. */
    static final Map<String, String> EXEMPT = new TreeMap<>(Map.ofEntries(
            Map.entry("attestmesh", "group"),
            Map.entry("attestmesh help", "picocli's help"),
            Map.entry("attestmesh server", "long-running process"),
            Map.entry("attestmesh authz", "long-running process"),
            Map.entry("attestmesh evidence", "group"),
            Map.entry("attestmesh log", "group"),
            Map.entry("attestmesh ca", "group"),
            Map.entry("attestmesh ca rotate", "write"),
            Map.entry("attestmesh ca issue-client", "write: writes key and certificate files"),
            Map.entry("attestmesh ca rekey", "offline write"),
            Map.entry("attestmesh nodes release", "write"),
            Map.entry("attestmesh secrets", "group"),
            Map.entry("attestmesh secrets put", "write"),
            Map.entry("attestmesh secrets delete", "write"),
            Map.entry("attestmesh secrets import", "write"),
            Map.entry("attestmesh secrets unimport", "write"),
            Map.entry("attestmesh secrets rotate-sealing", "write"),
            Map.entry("attestmesh secrets retire-sealing", "write"),
            Map.entry("attestmesh mesh", "group"),
            Map.entry("attestmesh seal", "writes a sealed file"),
            Map.entry("attestmesh unseal", "writes the opened file"),
            Map.entry("attestmesh bootstrap", "its output is an Envoy bootstrap file"),
            Map.entry("attestmesh completion", "its output is a shell script")));

    static void walk(CommandLine cl, List<CommandLine> out) {
        out.add(cl);
        for (CommandLine sub : new java.util.LinkedHashSet<>(cl.getSubcommands().values())) {
            walk(sub, out);
        }
    }

    @Test
    void everyReadCommandTakesDashOWithTableJsonAndYaml() {
        List<CommandLine> all = new ArrayList<>();
        walk(AttestMeshCli.commandLine(), all);
        List<String> missing = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (CommandLine cl : all) {
            String name = cl.getCommandSpec().qualifiedName();
            names.add(name);
            CommandLine.Model.OptionSpec o = cl.getCommandSpec().findOption("-o");
            if (EXEMPT.containsKey(name)) {
                continue;
            }
            if (o == null) {
                missing.add(name);
                continue;
            }
            List<String> offered = new ArrayList<>();
            o.completionCandidates().forEach(offered::add);
            assertEquals(List.of("table", "json", "yaml"), offered, name + " -o");
            assertTrue(o.longestName().equals("--output"), name + ": -o is --output");
        }
        assertEquals(List.of(), missing, "read commands without -o (add OutputOptions, or list them in EXEMPT "
                + "with the reason)");
        for (String exempt : EXEMPT.keySet()) {
            assertTrue(names.contains(exempt), "EXEMPT names no command '" + exempt + "': remove it");
        }
        assertTrue(names.containsAll(List.of("attestmesh log verify", "attestmesh log checkpoint",
                "attestmesh evidence verify", "attestmesh verify", "attestmesh nodes", "attestmesh revoke")), names.toString());
    }

    @Test
    void evidenceVerifyPrintsJsonYamlAndTableOfOneResult() throws Exception {
        Path v = EvidenceVerifyCommandTest.vectors();
        String[] base = {"evidence", "verify", "--evidence", v.resolve("sgx/dcap-qvl-sgx/sgx_quote").toString(),
            "--collateral", v.resolve("sgx/dcap-qvl-sgx/sgx_quote_collateral.json").toString(),
            "--intel-root", v.resolve("roots/dcap-qvl_TrustedRootCA.der").toString(), "--at", "2025-07-19T10:01:17Z"};
        String plain = run(base);
        JsonNode json = new ObjectMapper().readTree(run(concat(base, "-o", "json")));
        assertEquals(new ObjectMapper().readTree(plain), json, "json is the default");
        assertEquals(json, new YAMLMapper().readTree(run(concat(base, "-o", "yaml"))));
        String table = run(concat(base, "-o", "table"));
        assertTrue(table.contains("measurements.mrenclave") && table.contains("33d8736db756ed4997e04ba358d27833"),
                table);
        assertTrue(table.contains("advisoryIds") && table.contains("INTEL-SA-00289, INTEL-SA-00615"), table);
        CommandLine cl = AttestMeshCli.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        assertEquals(2, cl.execute(concat(base, "-o", "xml")), "an unknown format is a usage error");
        assertTrue(err.toString().contains("'xml' is not an output format; use table, json or yaml"), err.toString());
    }

    @Test
    void textIsStillReadAsTableForVerifysFormerOption() {
        OutputOptions.FormatConverter c = new OutputOptions.FormatConverter();
        assertEquals(OutputOptions.Format.table, c.convert("text"));
        assertEquals(OutputOptions.Format.yaml, c.convert("YAML"));
    }

    static String run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = AttestMeshCli.commandLine();
        cl.setOut(new PrintWriter(out)).setErr(new PrintWriter(err));
        int code = cl.execute(args);
        assertEquals(0, code, err.toString());
        return out.toString();
    }

    static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
