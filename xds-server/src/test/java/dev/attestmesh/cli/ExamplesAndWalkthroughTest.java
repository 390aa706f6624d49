package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.attestmesh.identity.Registration;
import dev.attestmesh.identity.RegistrationDocuments;
import dev.attestmesh.policy.Policy;
import dev.attestmesh.policy.PolicyDocuments;
import dev.attestmesh.quote.TeeType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

/**
 * examples/ and the README walkthrough: the example documents through the server's own parsers, and the
 * walkthrough's {@code ./attestmesh server} and {@code ./attestmesh agent} commands through the real CLI, so
 * that the files they name load and the node the agent attests as is one a registration admits.
 */
class ExamplesAndWalkthroughTest {
    private static final Path ROOT = Path.of(System.getProperty("basedir", ".")).resolve("..").normalize();

    /** The control plane's trust domain when --trust-domain is not given (application.yml). */
    private static String defaultTrustDomain() throws IOException {
        try (InputStream in = ServerCommand.class.getResourceAsStream("/application.yml")) {
            JsonNode yml = new YAMLMapper().readTree(in);
            String td = yml.at("/attestmesh/trust-domain").asText();
            assertFalse(td.isEmpty(), "application.yml has attestmesh.trust-domain");
            return td;
        }
    }

    @Test
    void examplePoliciesAndRegistrationsParseAndAgree() throws Exception {
        List<Policy> policies = PolicyDocuments.parse(Files.readString(ROOT.resolve("examples/policies.yaml")),
                "examples/policies.yaml");
        Set<String> policyIds = policies.stream().map(Policy::id).collect(Collectors.toSet());
        List<Registration> registrations = RegistrationDocuments.parse(
                Files.readString(ROOT.resolve("examples/registrations.yaml")), "examples/registrations.yaml",
                defaultTrustDomain());
        assertFalse(registrations.isEmpty());
        for (Registration r : registrations) {
            assertTrue(policyIds.containsAll(r.policies()), r + " names a policy examples/policies.yaml lacks");
        }
    }

    /** The walkthrough's commands ({@code ./attestmesh server|agent ...}), continuation lines joined. */
    private static List<List<String>> walkthroughCommands(String command) throws IOException {
        String readme = Files.readString(ROOT.resolve("README.md")).replace("\\\n", " ");
        List<List<String>> out = new ArrayList<>();
        for (String line : readme.split("\n")) {
            String l = line.strip();
            if (l.startsWith("./attestmesh " + command + " ")) {
                List<String> words = new ArrayList<>(List.of(l.replaceFirst("#.*$", "").strip().split("\\s+")));
                words.removeFirst();
                out.add(words);
            }
        }
        return out;
    }

    private static ParseResult parse(List<String> args) {
        // What ./attestmesh accepts: the control plane's commands and the agent's (attestmesh-cli adds it, and
        // `./attestmesh agent` runs the agent's own executable with the same options).
        return new CommandLine(new AttestMeshCli()).addSubcommand(new dev.attestmesh.agent.cli.AgentCommand())
                .setDefaultValueProvider(new EnvironmentDefaultProvider(Map.of(), new Properties()))
                .parseArgs(args.toArray(String[]::new)).subcommand();
    }

    @Test
    void walkthroughServerLoadsTheExampleFilesAndItsAgentIsAdmitted() throws Exception {
        List<List<String>> servers = walkthroughCommands("server");
        assertEquals(1, servers.size(), servers.toString());
        ServerCommand server = assertInstanceOf(ServerCommand.class, parse(servers.getFirst()).commandSpec().userObject());
        Map<String, Object> p = server.properties();
        String trustDomain = (String) p.getOrDefault("attestmesh.trust-domain", defaultTrustDomain());
        assertTrue(p.containsKey("attestmesh.policy-file") && p.containsKey("attestmesh.registration-file"),
                "the walkthrough's server loads a policy file and a registration file: " + servers.getFirst());
        List<Policy> policies = PolicyDocuments.parse(Files.readString(ROOT.resolve(p.get("attestmesh.policy-file").toString())),
                "policy-file");
        List<Registration> registrations = RegistrationDocuments.parse(
                Files.readString(ROOT.resolve(p.get("attestmesh.registration-file").toString())), "registration-file",
                trustDomain);

        List<List<String>> agents = walkthroughCommands("agent");
        assertEquals(1, agents.size(), agents.toString());
        ParseResult agent = parse(agents.getFirst());
        String nodeId = agent.matchedOptionValue("--node-id", "");
        assertFalse(nodeId.isEmpty(), "outside Kubernetes the walkthrough's agent names its node id");
        assertTrue(agent.matchedOptionValue("--once", false), "the walkthrough attests once and exits");
        // Exactly one registration admits the node by its selectors, with a policy that accepts the simulated TEE.
        List<Registration> admitting = registrations.stream().filter(r -> r.nodeIdMatches(nodeId))
                .filter(r -> r.kubernetes().isEmpty()).toList();
        assertEquals(1, admitting.size(), "registrations admitting " + nodeId + ": " + admitting);
        assertEquals("sim", agent.matchedOptionValue("--tee", ""));
        for (String id : admitting.getFirst().policies()) {
            Policy policy = policies.stream().filter(x -> x.id().equals(id)).findFirst().orElseThrow();
            assertTrue(policy.tees().contains(TeeType.SIM), policy.toString());
            assertTrue(policy.reference().get(TeeType.SIM).allowedValues().get("measurement")
                            .contains(agent.matchedOptionValue("--sim-measurement", "?")),
                    "the agent's simulated measurement is a reference value of " + id);
        }
        // The identity the README says --identity can ask for is the one that registration issues.
        String readme = Files.readString(ROOT.resolve("README.md"));
        String asked = admitting.getFirst().spiffeIdFor(nodeId).toString();
        assertTrue(readme.contains("--identity " + asked), "README's --identity example should be " + asked);
    }
}
