package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ControlPlane;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The operator commands against a control plane running in process (admin API on a loopback port). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdminCommandsTest {
    static final String GOOD = "a1".repeat(48);
    static final String TOKEN = "cli-test-admin-token-0123456789";

    Path dir;
    ApplicationContext ctx;
    ControlPlane cp;
    String adminUrl;

    /** Exit code and standard output/error of one CLI run. */
    record Run(int exit, String out, String err) {}

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("attestmesh-cli");
        Path policies = dir.resolve("policies.yaml");
        Files.writeString(policies, policy("default", GOOD));
        ctx = Micronaut.build(new String[0]).banner(false).properties(Map.of(
                "attestmesh.data-dir", dir.resolve("cp").toString(),
                "attestmesh.grpc-bind", "127.0.0.1",
                "attestmesh.grpc-port", 0,
                "attestmesh.admin-port", 0,
                "attestmesh.ca-key", "cli-test-key",
                "attestmesh.admin.token", TOKEN,
                "attestmesh.dev-mode", true,
                "attestmesh.policy-file", policies.toString(),
                "attestmesh.registration-file", dev.attestmesh.server.testing.TestMesh.writeRegistrations(policies.getParent()).toString())).start();
        cp = ctx.getBean(ControlPlane.class);
        adminUrl = "http://127.0.0.1:" + ctx.getBean(EmbeddedServer.class).getPort();
        agent("cli-node").attestOnce();
    }

    @AfterAll
    void stop() throws Exception {
        if (ctx != null) {
            ctx.close();
        }
        try (var s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    static String policy(String id, String measurement) {
        return "policies:\n  - id: " + id + "\n    tee: [sim]\n    reference:\n      sim:\n        measurement: [\""
                + measurement + "\"]\n";
    }

    NodeAgent agent(String id) throws Exception {
        return new NodeAgent(new NodeAgent.Settings(id, "127.0.0.1:" + cp.grpcPort(),
                Pem.parseCertificates(Files.readString(cp.caBundleFile())), dir.resolve("nodes").resolve(id),
                Optional.empty(), Optional.empty()), SimulatedTee.withMeasurementHex(GOOD), Clock.systemUTC());
    }

    /** Runs {@code attestmesh <args> --admin URL --token TOKEN} with captured output. */
    synchronized Run cli(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--admin", adminUrl, "--token", TOKEN));
        return raw(all.toArray(String[]::new));
    }

    synchronized Run raw(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int code = AttestMeshCli.execute(args);
            return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test
    void nodesListsAndShowsANode() {
        Run list = cli("nodes");
        assertEquals(0, list.exit(), list.err());
        assertTrue(list.out().contains("cli-node"), list.out());
        assertTrue(list.out().contains("default@v1"), list.out());
        Run one = cli("nodes", "cli-node");
        assertEquals(0, one.exit(), one.err());
        assertTrue(one.out().contains("\"spiffeId\" : \"spiffe://attestmesh.local/node/cli-node\""), one.out());
        Run missing = cli("nodes", "nope");
        assertEquals(1, missing.exit());
        assertTrue(missing.err().contains("404"), missing.err());
    }

    @Test
    void policiesApplyListGetAndDelete() throws Exception {
        Path file = dir.resolve("extra.yaml");
        Files.writeString(file, policy("extra", GOOD));
        Run apply = cli("policies", "apply", file.toString());
        assertEquals(0, apply.exit(), apply.err());
        assertTrue(apply.out().contains("policy extra: created (version 1)"), apply.out());
        Run list = cli("policies");
        assertTrue(list.out().contains("extra"), list.out());
        Run get = cli("policies", "get", "extra");
        assertTrue(get.out().startsWith("policies:") && get.out().contains("extra") && get.out().contains(GOOD), get.out());
        Files.writeString(file, "policies:\n  - id: extra\n    tee: [quantum]\n");
        Run bad = cli("policies", "apply", file.toString());
        assertEquals(1, bad.exit());
        assertTrue(bad.err().contains("400") && bad.err().contains("quantum"), bad.err());
        Run delete = cli("policies", "delete", "extra");
        assertEquals(0, delete.exit(), delete.err());
        assertTrue(cp.policies().get("extra").isEmpty());
    }

    @Test
    void nodesTableShowsTheRegistrationColumn() {
        Run list = cli("nodes");
        assertEquals(0, list.exit(), list.err());
        String header = list.out().lines().findFirst().orElseThrow();
        assertTrue(header.contains("REGISTRATION"), header);
        String row = list.out().lines().filter(l -> l.startsWith("cli-node ")).findFirst().orElseThrow();
        assertEquals("nodes", row.split("\\s+")[3], row);
    }

    @Test
    void registrationsApplyListGetAndDelete() throws Exception {
        Path file = dir.resolve("registrations-extra.yaml");
        Files.writeString(file, """
                registrations:
                  - id: cli-extra
                    spiffeId: spiffe://attestmesh.local/extra/{nodeId}
                    policies: [default]
                    selectors: {nodeId: "extra-*"}
                    maxInstances: 2
                """);
        Run apply = cli("registrations", "apply", file.toString());
        assertEquals(0, apply.exit(), apply.err());
        assertTrue(apply.out().contains("registration cli-extra: created (version 1)"), apply.out());
        Run list = cli("registrations");
        assertEquals(0, list.exit(), list.err());
        String row = list.out().lines().filter(l -> l.startsWith("cli-extra ")).findFirst().orElseThrow();
        assertTrue(row.contains("spiffe://attestmesh.local/extra/{nodeId}") && row.contains("node=extra-*")
                && row.contains("max=2"), row);
        Run get = cli("registrations", "get", "cli-extra");
        assertEquals(0, get.exit(), get.err());
        assertEquals(List.of(cp.registrations().get("cli-extra").orElseThrow()),
                dev.attestmesh.identity.RegistrationDocuments.parse(get.out(), "cli output", "attestmesh.local"));
        Files.writeString(file, "registrations:\n  - id: cli-extra\n    spiffeId: spiffe://attestmesh.local/x\n"
                + "    policies: [quantum]\n");
        Run bad = cli("registrations", "apply", file.toString());
        assertEquals(1, bad.exit());
        assertTrue(bad.err().contains("400") && bad.err().contains("quantum"), bad.err());
        assertEquals(1, cp.registrations().get("cli-extra").orElseThrow().version(), "nothing changed");
        Run delete = cli("registrations", "delete", "cli-extra");
        assertEquals(0, delete.exit(), delete.err());
        assertTrue(cp.registrations().get("cli-extra").isEmpty());
        Run missing = cli("registrations", "delete", "cli-extra");
        assertEquals(1, missing.exit());
        assertTrue(missing.err().contains("404"), missing.err());
        assertEquals(2, cli("registrations", "get").exit(), "get needs an id");
    }

    @Test
    void nodesReleaseLetsAnotherKeyAttest() throws Exception {
        agent("cli-moved").attestOnce();
        NodeAgent replacement = new NodeAgent(new NodeAgent.Settings("cli-moved", "127.0.0.1:" + cp.grpcPort(),
                Pem.parseCertificates(Files.readString(cp.caBundleFile())), dir.resolve("nodes").resolve("cli-moved-new"),
                Optional.empty(), Optional.empty()), SimulatedTee.withMeasurementHex(GOOD), Clock.systemUTC());
        var refused = org.junit.jupiter.api.Assertions.assertThrows(dev.attestmesh.agent.AttestationRefusedException.class,
                replacement::attestOnce);
        assertTrue(refused.getMessage().contains("held by another key"), refused.getMessage());
        Run release = cli("nodes", "release", "cli-moved", "--reason", "disk swapped");
        assertEquals(0, release.exit(), release.err());
        assertTrue(release.out().contains("node cli-moved released: state EXPIRED"), release.out());
        assertEquals("released by bootstrap-configured: disk swapped",
                cp.registry().entry("cli-moved").orElseThrow().stateReason(), "the token's name and the reason");
        replacement.attestOnce();
        assertEquals(NodeState.ATTESTED, cp.registry().entry("cli-moved").orElseThrow().state());
        Run unknown = cli("nodes", "release", "no-such-node");
        assertEquals(1, unknown.exit());
        assertTrue(unknown.err().contains("404"), unknown.err());
    }

    @Test
    void revokeListAndLift() throws Exception {
        agent("cli-victim").attestOnce();
        Run revoke = cli("revoke", "--node", "cli-victim", "--reason", "lost laptop");
        assertEquals(0, revoke.exit(), revoke.err());
        assertTrue(revoke.out().contains("revoked nodes: cli-victim"), revoke.out());
        assertEquals(NodeState.REVOKED, cp.registry().entry("cli-victim").orElseThrow().state());
        Run list = cli("revoke", "--list");
        assertTrue(list.out().contains("lost laptop"), list.out());
        String ruleId = cp.revocations().all().stream().filter(r -> r.value().equals("cli-victim")).findFirst()
                .orElseThrow().id();
        Run liftPreview = cli("revoke", "--lift", ruleId, "--dry-run");
        assertEquals(0, liftPreview.exit(), liftPreview.err());
        assertTrue(liftPreview.out().contains(ruleId + ": deleted") && liftPreview.out().contains(
                "node cli-victim would be lifted: may attest again"), liftPreview.out());
        assertEquals(NodeState.REVOKED, cp.registry().entry("cli-victim").orElseThrow().state(), "preview lifted nothing");
        var liftJson = JSON.readTree(cli("revoke", "--lift", ruleId, "--dry-run", "-o", "json").out());
        assertEquals("cli-victim", liftJson.path("nodes").path(0).path("nodeId").asText(), liftJson.toString());
        Run lift = cli("revoke", "--lift", ruleId);
        assertEquals(0, lift.exit(), lift.err());
        assertTrue(lift.out().contains("cli-victim"), lift.out());
        Run measurement = cli("revoke", "--measurement", "not-hex");
        assertEquals(1, measurement.exit());
        assertTrue(measurement.err().contains("hex digits"), measurement.err());
        assertEquals(2, cli("revoke").exit(), "one target is required");
    }

    @Test
    void revokeDiffPreviewsTheRulesToAddAndToLiftAndStoresNothing(@org.junit.jupiter.api.io.TempDir Path dir)
            throws Exception {
        agent("cli-diff-a").attestOnce();
        agent("cli-diff-b").attestOnce();
        assertEquals(0, cli("revoke", "--node", "cli-diff-a", "--reason", "stolen").exit());
        String ruleA = cp.revocations().all().stream().filter(r -> r.value().equals("cli-diff-a")).findFirst()
                .orElseThrow().id();
        int rulesBefore = cp.revocations().all().size();

        // What 'revoke --list -o yaml' prints is a valid desired state: nothing to add or lift.
        Path same = dir.resolve("same.yaml");
        Files.writeString(same, cli("revoke", "--list", "-o", "yaml").out());
        var unchanged = JSON.readTree(cli("revoke", "--diff", same.toString(), "-o", "json").out());
        assertTrue(unchanged.path("nodes").isEmpty(), unchanged.toString());
        unchanged.path("changes").forEach(c -> assertEquals("unchanged", c.path("change").asText(), c.toString()));

        // A file that drops the rule on cli-diff-a and adds one on cli-diff-b (another case, extra fields ignored).
        Path wanted = dir.resolve("wanted.yaml");
        StringBuilder yaml = new StringBuilder();
        for (var r : cp.revocations().all()) {
            if (!r.id().equals(ruleA)) {
                yaml.append("- kind: ").append(r.kind().wireName()).append("\n  value: \"").append(r.value())
                        .append("\"\n");
            }
        }
        yaml.append("- kind: NODE\n  value: cli-diff-b\n  reason: compromised\n  id: ignored\n");
        Files.writeString(wanted, yaml.toString());
        Run table = cli("revoke", "--diff", wanted.toString());
        assertEquals(0, table.exit(), table.err());
        assertTrue(table.out().contains(ruleA + ": deleted"), table.out());
        assertTrue(table.out().contains("node cli-diff-a would be lifted"), table.out());
        assertTrue(table.out().contains("node cli-diff-b would be revoked"), table.out());
        var json = JSON.readTree(cli("revoke", "--diff", wanted.toString(), "-o", "json").out());
        assertTrue(json.path("dryRun").asBoolean(), json.toString());
        assertEquals(rulesBefore, cp.revocations().all().size(), "a diff stores no rule and lifts none");
        assertEquals(NodeState.REVOKED, cp.registry().entry("cli-diff-a").orElseThrow().state());
        assertEquals(NodeState.ATTESTED, cp.registry().entry("cli-diff-b").orElseThrow().state());

        // Bad files: refused with the reason, before or by the control plane's own validation.
        Path notList = Files.writeString(dir.resolve("map.yaml"), "kind: node\nvalue: x\n");
        Run bad = cli("revoke", "--diff", notList.toString());
        assertEquals(1, bad.exit());
        assertTrue(bad.err().contains("must be a list of rules"), bad.err());
        Path badValue = Files.writeString(dir.resolve("bad.yaml"), "- kind: measurement\n  value: not-hex\n");
        Run invalid = cli("revoke", "--diff", badValue.toString());
        assertEquals(1, invalid.exit());
        assertTrue(invalid.err().contains("hex digits"), invalid.err());
        Path huge = dir.resolve("huge.yaml");
        Files.writeString(huge, "- kind: node\n  value: x\n".repeat(1_001));
        Run tooMany = cli("revoke", "--diff", huge.toString());
        assertEquals(1, tooMany.exit());
        assertTrue(tooMany.err().contains("at most 1000"), tooMany.err());
    }

    @Test
    void logVerifyPrintsOkOrTheFirstBrokenEntry() throws Exception {
        var expected = cp.issuanceLog().verify();
        Run ok = cli("log", "verify");
        assertTrue(expected.intact(), "a fresh log verifies: " + expected);
        assertEquals(0, ok.exit(), ok.out() + ok.err());
        assertTrue(ok.out().startsWith("OK"), ok.out());
    }

    @Test
    void logVerifyExitsOneWhenAnEntryWasAltered() throws Exception {
        agent("tamper-target").attestOnce();
        var lastEntry = cp.issuanceLog().list(1, 10_000).getLast();
        setNodeId(lastEntry.sequence(), "forged");
        try {
            Run broken = cli("log", "verify");
            assertEquals(1, broken.exit(), broken.out());
            assertTrue(broken.out().startsWith("BROKEN: entry " + lastEntry.sequence()), broken.out());
        } finally {
            setNodeId(lastEntry.sequence(), lastEntry.nodeId()); // other tests share this control plane
        }
        assertEquals(0, cli("log", "verify").exit(), "restoring the entry makes the chain whole again");
    }

    private void setNodeId(long seq, String nodeId) throws Exception {
        try (var c = cp.database().connection();
                PreparedStatement ps = c.prepareStatement("UPDATE issuance_log SET node_id = ? WHERE seq = ?")) {
            ps.setString(1, nodeId);
            ps.setLong(2, seq);
            assertEquals(1, ps.executeUpdate());
        }
    }

    @Test
    void caRotateRotatesTheIntermediate() {
        String before = cp.meshCa().issuingIntermediate().getSerialNumber().toString(16);
        Run r = cli("ca", "rotate", "--overlap", "PT2H");
        assertEquals(0, r.exit(), r.err());
        String after = cp.meshCa().issuingIntermediate().getSerialNumber().toString(16);
        assertFalse(before.equals(after));
        assertTrue(r.out().contains(after), r.out());
    }

    @Test
    void caIssueClientWritesAReplicaCertificateItsCaBundleAndAKeyOnlyTheOwnerCanRead() throws Exception {
        Path out = dir.resolve("issued").resolve("authz-7");
        Run r = raw("ca", "issue-client", "--replica", "authz-7", "--ttl", "P7D", "--out", out.toString(),
                "--admin-url", adminUrl, "--token", TOKEN);
        assertEquals(0, r.exit(), r.err());
        String id = "spiffe://attestmesh.local/attestmesh/replica/authz-7";
        assertTrue(r.out().contains(id), r.out());
        assertEquals(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"),
                Files.getPosixFilePermissions(out.resolve("key.pem")));
        List<java.security.cert.X509Certificate> chain = Pem.parseCertificates(Files.readString(out.resolve("cert-chain.pem")));
        assertEquals(List.of(id), dev.attestmesh.identity.ReservedClientCertificates.uriSans(chain.getFirst()));
        assertEquals(List.of("1.3.6.1.5.5.7.3.2"), chain.getFirst().getExtendedKeyUsage(), "clientAuth only");
        assertEquals(cp.trustBundle(), Pem.parseCertificates(Files.readString(out.resolve("ca-bundle.pem"))));
        // the key on disk is the one certified
        byte[] der = java.util.Base64.getMimeDecoder().decode(Files.readString(out.resolve("key.pem"))
                .replaceAll("-----[A-Z ]+-----", ""));
        var priv = java.security.KeyFactory.getInstance("EC").generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(der));
        var signer = java.security.Signature.getInstance("SHA256withECDSA");
        signer.initSign(priv);
        signer.update(new byte[] {1, 2, 3});
        var verifier = java.security.Signature.getInstance("SHA256withECDSA");
        verifier.initVerify(chain.getFirst());
        verifier.update(new byte[] {1, 2, 3});
        assertTrue(verifier.verify(signer.sign()));
        var entry = cp.issuanceLog().list(1, 10_000).getLast();
        assertEquals(id, entry.spiffeId());
        assertEquals("-", entry.nodeId());
        assertEquals("", entry.evidenceSha256Hex());
        assertEquals(List.of(), entry.policyIds());
        assertEquals(chain.getFirst().getSerialNumber().toString(16), entry.serialHex());

        Run again = raw("ca", "issue-client", "--replica", "authz-7", "--out", out.toString(),
                "--admin-url", adminUrl, "--token", TOKEN);
        assertEquals(1, again.exit());
        assertTrue(again.err().contains("exists"), again.err());
        Run bad = raw("ca", "issue-client", "--admin", "Not_A_Label", "--out", dir.resolve("issued").resolve("x").toString(),
                "--admin-url", adminUrl, "--token", TOKEN);
        assertEquals(1, bad.exit());
        assertTrue(bad.err().contains("must be a DNS label"), bad.err());
        assertFalse(Files.exists(dir.resolve("issued").resolve("x").resolve("key.pem")), "no key left behind on refusal");
    }

    static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
    static final com.fasterxml.jackson.dataformat.yaml.YAMLMapper YAML = new com.fasterxml.jackson.dataformat.yaml.YAMLMapper();

    @Test
    void readCommandsPrintJsonAndYamlThatParseBackToTheApiAnswer() throws Exception {
        for (String[] command : List.of(new String[] {"nodes"}, new String[] {"nodes", "cli-node"},
                new String[] {"policies"}, new String[] {"policies", "get", "default"}, new String[] {"registrations"},
                new String[] {"revoke", "--list"}, new String[] {"mesh", "get"}, new String[] {"secrets", "list"})) {
            Run json = cli(concat(command, "-o", "json"));
            assertEquals(0, json.exit(), String.join(" ", command) + ": " + json.err());
            Run yaml = cli(concat(command, "-o", "yaml"));
            assertEquals(0, yaml.exit(), String.join(" ", command) + ": " + yaml.err());
            var fromJson = withoutClock(JSON.readTree(json.out()));
            assertEquals(fromJson, withoutClock(YAML.readTree(yaml.out())), String.join(" ", command));
            Run again = cli(concat(command, "-o", "json"));
            if (!command[0].equals("nodes")) { // node xDS state may move between runs
                assertEquals(json.out(), again.out(), "stable output: " + String.join(" ", command));
            }
        }
        var nodes = JSON.readTree(cli("nodes", "-o", "json").out());
        assertTrue(nodes.isArray(), nodes.toString());
        boolean found = false;
        for (var n : nodes) {
            found |= n.path("nodeId").asText().equals("cli-node") && n.path("state").asText().equals("ATTESTED");
        }
        assertTrue(found, nodes.toString());
        var policy = YAML.readTree(cli("policies", "get", "default", "-o", "yaml").out());
        assertEquals("default", policy.path("id").asText(), policy.toString());
        assertTrue(policy.path("document").asText().contains(GOOD), policy.toString());
        Run bad = cli("nodes", "-o", "xml");
        assertEquals(2, bad.exit(), bad.out());
        assertTrue(bad.err().contains("table") && bad.err().contains("json") && bad.err().contains("yaml"), bad.err());
    }

    /**
     * The answer without what moves with the wall clock between two calls: the observed evidence age of a node's
     * appraisal report ("30s" in one call, "31s" in the next).
     */
    static com.fasterxml.jackson.databind.JsonNode withoutClock(com.fasterxml.jackson.databind.JsonNode n) {
        if (n.isObject() && n.path("rule").asText().equals("evidenceAge")) {
            ((com.fasterxml.jackson.databind.node.ObjectNode) n).remove("observed");
        }
        n.forEach(AdminCommandsTest::withoutClock);
        return n;
    }

    static String[] concat(String[] a, String... b) {
        List<String> all = new ArrayList<>(List.of(a));
        all.addAll(List.of(b));
        return all.toArray(String[]::new);
    }

    @Test
    void nodesFiltersAreSentAsQueryParametersAndBadOnesRefusedBeforeAnyRequest() {
        Run r = cli("nodes", "--state", "ATTESTED", "--tee", "sim", "--policy", "default", "--registration", "nodes",
                "--expiring-before", "2099-01-01T00:00:00Z", "--limit", "50", "--offset", "0", "-o", "json");
        assertEquals(0, r.exit(), r.err()); // the list endpoint may or may not filter yet; it must accept them
        assertTrue(r.out().contains("cli-node"), r.out());
        assertEquals(2, cli("nodes", "--limit", "0").exit());
        assertEquals(2, cli("nodes", "--offset", "-1").exit());
        assertEquals(2, cli("nodes", "--expiring-before", "tomorrow").exit());
    }

    @Test
    void nodesWatchPrintsTheListAgainWhenANodeAttestsAndStopsWithinItsBound() throws Exception {
        java.io.StringWriter out = new java.io.StringWriter();
        picocli.CommandLine cl = AttestMeshCli.commandLine();
        cl.setOut(new java.io.PrintWriter(out, true));
        cl.setErr(new java.io.PrintWriter(new java.io.StringWriter(), true));
        int[] exit = {-1};
        Thread watch = Thread.ofVirtual().start(() -> exit[0] = cl.execute("nodes", "--watch", "--interval", "PT0.2S",
                "--watch-count", "2", "--admin", adminUrl, "--token", TOKEN));
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(10).toNanos();
        while (!out.toString().contains("cli-node") && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        agent("cli-watched").attestOnce();
        watch.join(java.time.Duration.ofSeconds(20));
        assertFalse(watch.isAlive(), "watch ended after two lists");
        assertEquals(0, exit[0]);
        String text = out.toString();
        assertEquals(2, text.lines().filter(l -> l.startsWith("NODE ")).count(), text);
        String second = text.substring(text.lastIndexOf("NODE "));
        assertTrue(second.contains("cli-watched") && !text.substring(0, text.lastIndexOf("NODE ")).contains("cli-watched"),
                text);
        assertEquals(2, cli("nodes", "--watch", "--interval", "PT0.01S").exit(), "interval below the bound refused");
    }

    @Test
    void policyDryRunAndDiffShowTheEffectAndChangeNothing() throws Exception {
        Path file = dir.resolve("tightened.yaml");
        Files.writeString(file, policy("default", "b2".repeat(48)));
        long version = cp.policies().version("default").orElseThrow();
        Run dry = cli("policies", "apply", file.toString(), "--dry-run");
        assertEquals(0, dry.exit(), dry.err());
        assertTrue(dry.out().contains("default: updated"), dry.out());
        assertTrue(dry.out().contains("node cli-node would be withdrawn"), dry.out());
        assertTrue(dry.out().contains("dry run: nothing was changed"), dry.out());
        Run diff = cli("policies", "diff", file.toString());
        assertEquals(0, diff.exit(), diff.err());
        assertTrue(diff.out().contains("--- live/default") && diff.out().contains("+++ proposed/default"), diff.out());
        assertTrue(diff.out().contains("-      - \"" + GOOD + "\"") || diff.out().contains("-      - " + GOOD)
                || diff.out().lines().anyMatch(l -> l.startsWith("-") && l.contains(GOOD)), diff.out());
        assertTrue(diff.out().lines().anyMatch(l -> l.startsWith("+") && l.contains("b2b2")), diff.out());
        var json = JSON.readTree(cli("policies", "diff", file.toString(), "-o", "json").out());
        assertTrue(json.path("dryRun").asBoolean(), json.toString());
        assertEquals(version, cp.policies().version("default").orElseThrow(), "nothing stored");
        assertEquals(NodeState.ATTESTED, cp.registry().entry("cli-node").orElseThrow().state());
        Run del = cli("policies", "delete", "default", "--dry-run");
        assertEquals(0, del.exit(), del.err());
        assertTrue(del.out().contains("default: deleted") && del.out().contains("cli-node"), del.out());
        assertTrue(cp.policies().get("default").isPresent());
    }

    @Test
    void registrationsMeshAndRevocationDryRuns() throws Exception {
        Run reg = cli("registrations", "delete", "nodes", "--dry-run");
        assertEquals(0, reg.exit(), reg.err());
        assertTrue(reg.out().contains("node cli-node would be withdrawn"), reg.out());
        assertTrue(cp.registrations().get("nodes").isPresent());

        Path mesh = dir.resolve("mesh-proposed.yaml");
        Files.writeString(mesh, """
                services:
                  - name: web
                    members: {nodes: [cli-node]}
                    ingress:
                      - {port: 8443, appPort: 8080, policies: [default]}
                """);
        long meshVersion = cp.mesh().current().version();
        Run meshDiff = cli("mesh", "diff", mesh.toString());
        assertEquals(0, meshDiff.exit(), meshDiff.err());
        assertTrue(meshDiff.out().contains("+++ proposed/mesh") && meshDiff.out().contains("+  - name: web"), meshDiff.out());
        assertTrue(meshDiff.out().contains("service web: created"), meshDiff.out());
        assertTrue(meshDiff.out().contains("node cli-node would be reconfigured"), meshDiff.out());
        Run meshDry = cli("mesh", "apply", mesh.toString(), "--dry-run");
        assertEquals(0, meshDry.exit(), meshDry.err());
        assertEquals(meshVersion, cp.mesh().current().version(), "mesh not applied");

        Run rev = cli("revoke", "--measurement", GOOD, "--reason", "what if", "--dry-run");
        assertEquals(0, rev.exit(), rev.err());
        assertTrue(rev.out().contains("node cli-node would be revoked"), rev.out());
        assertTrue(cp.revocations().all().stream().noneMatch(r -> r.value().equals(GOOD)), "no rule stored");
        assertEquals(NodeState.ATTESTED, cp.registry().entry("cli-node").orElseThrow().state());
        Run badRev = cli("revoke", "--node", "not a node id", "--dry-run");
        assertEquals(1, badRev.exit());
        assertTrue(badRev.err().contains("400"), badRev.err());
    }

    @Test
    void completionPrintsABashScriptThatBashAccepts() throws Exception {
        Run r = raw("completion", "bash");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("complete -F") && r.out().contains("nodes") && r.out().contains("--dry-run")
                && r.out().contains("completion"), r.out().length() + " chars");
        assertEquals(2, raw("completion", "fish").exit());
        Path bash = Path.of("/bin/bash");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(bash), "no /bin/bash to load the script");
        Path script = Files.writeString(dir.resolve("attestmesh-completion.bash"), r.out());
        // bash loads the script and completes "attestmesh no" to "nodes" (a real bash process, bounded in time)
        Process p = new ProcessBuilder(bash.toString(), "-c", "source " + script + " && COMP_WORDS=(attestmesh no) "
                + "&& COMP_CWORD=1 && COMP_LINE='attestmesh no' && COMP_POINT=13 && _complete_attestmesh attestmesh no "
                + "attestmesh && printf '%s\\n' \"${COMPREPLY[@]}\"").redirectErrorStream(true).start();
        assertTrue(p.waitFor(20, java.util.concurrent.TimeUnit.SECONDS), "bash finished");
        String completed = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), completed);
        assertTrue(completed.lines().anyMatch(l -> l.strip().equals("nodes")), completed);
    }

    @Test
    void wrongTokenFailsWithTheApiAnswer() {
        Run r = raw("nodes", "--admin", adminUrl, "--token", "amt_wrong");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("401"), r.err());
    }

    @Test
    void bootstrapRendersAValidatedEnvoyBootstrapAndItsSdsFile() throws Exception {
        Path certDir = dir.resolve("certs-for-envoy").toAbsolutePath();
        Path out = dir.resolve("envoy.yaml");
        Run r = raw("bootstrap", "--node-id", "cli-node", "--cluster", "payments", "--control-plane", "10.0.0.5:15010",
                "--cert-dir", certDir.toString(), "--ingress", "15006:8080:default", "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        String yaml = Files.readString(out);
        assertTrue(yaml.contains("id: cli-node"), yaml);
        assertTrue(yaml.contains("10.0.0.5"), yaml);
        assertTrue(yaml.contains("x-attestmesh-policy-ids"), yaml);
        assertTrue(Files.readString(certDir.resolve("control-plane-sds.yaml")).contains(certDir.resolve("key.pem").toString()));
        Run bad = raw("bootstrap", "--node-id", "n", "--cert-dir", "relative/dir");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("absolute"), bad.err());
    }
}
