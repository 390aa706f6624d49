package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import dev.attestmesh.agent.cli.AgentCommand;
import dev.attestmesh.identity.Registration;
import dev.attestmesh.identity.RegistrationDocuments;
import dev.attestmesh.identity.RegistrationValidationException;
import dev.attestmesh.identity.kubernetes.KubernetesTokenSettings;
import dev.attestmesh.identity.kubernetes.KubernetesTokenSettings.KeySource;
import dev.attestmesh.policy.Policy;
import dev.attestmesh.policy.PolicyDocuments;
import dev.attestmesh.server.app.KubernetesTokenConfig;
import io.micronaut.context.ApplicationContext;
import io.micronaut.context.env.Environment;
import io.micronaut.context.env.PropertySource;
import dev.attestmesh.server.mesh.AttestedNodeDirectory;
import dev.attestmesh.server.mesh.EnvoyNodeDirectory;
import dev.attestmesh.server.mesh.MeshConfigParser;
import dev.attestmesh.server.mesh.MeshConfigRegistry;
import dev.attestmesh.server.mesh.MeshConfigStore;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.policy.PolicyRules;
import dev.attestmesh.server.registration.RegistrationRegistry;
import dev.attestmesh.server.seed.DocumentFileModes;
import dev.attestmesh.server.seed.DocumentFiles;
import dev.attestmesh.server.seed.FileMode;
import dev.attestmesh.server.store.Database;
import dev.attestmesh.server.store.DatabaseSettings;
import dev.attestmesh.server.store.DocumentSetDiff;
import dev.attestmesh.server.store.InProcessChangeNotifier;
import dev.attestmesh.server.store.PolicyStore;
import dev.attestmesh.server.store.RegistrationStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Properties;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParseResult;

/**
 * istio-integration's Helm chart, rendered by Helm itself (helm-java), as the control plane would consume it:
 * the container's arguments and environment go through the real CLI parser into {@link ServerCommand}, its
 * properties into {@link KubernetesTokenConfig#settings()}, and every file an option names is looked up in the
 * rendered volumes; the documents in the rendered ConfigMap go to {@link PolicyDocuments},
 * {@link RegistrationDocuments} and {@link MeshConfigParser}. The agents' environment must name options the
 * agent has.
 */
class HelmChartServerConfigTest {
    private static final Path ROOT = Path.of(System.getProperty("basedir", ".")).resolve("../istio-integration").normalize();
    private static final Path CHART = ROOT.resolve("charts/attestmesh");
    private static final YAMLMapper YAML = new YAMLMapper();
    private static final String API = "/var/run/secrets/kubernetes.io/serviceaccount";
    /** A cluster the chart supports (Chart.yaml kubeVersion: native sidecars need 1.29). */
    static final String KUBE_VERSION = "1.31.0";

    /** One rendered release, as the control plane's container sees it. */
    private record Rendered(List<JsonNode> documents, JsonNode pod, JsonNode container, ServerCommand server) {
        Map<String, Object> properties() {
            return server.properties();
        }

        String trustDomain() {
            return (String) properties().get("attestmesh.trust-domain");
        }

        /** The text of the file at {@code path} as the pod would see it; fails when no volume provides it. */
        String file(Object path) {
            return provided(this, path.toString()).orElseThrow(() -> new AssertionError(path
                    + " is provided by a volume whose content comes from outside the chart"));
        }

        /** The Kubernetes settings the server would build from these properties (defaults as ControlPlaneFactory). */
        Optional<KubernetesTokenSettings> kubernetes() {
            Map<String, Object> p = properties();
            KubernetesTokenConfig config = new KubernetesTokenConfig(s(p, "issuer"), "attestmesh", s(p, "jwks-file"),
                    s(p, "jwks-url"), Boolean.parseBoolean(p.getOrDefault("attestmesh.kubernetes.oidc-discovery",
                            "false").toString()), s(p, "public-key-file"), s(p, "token-review-url"), s(p, "ca-file"),
                    s(p, "bearer-token-file"), Duration.ofSeconds(30));
            return config.settings();
        }

        private static String s(Map<String, Object> p, String key) {
            Object v = p.get("attestmesh.kubernetes." + key);
            return v == null ? "" : v.toString();
        }
    }

    @TempDir
    Path tmp;

    /** A values file with this text, as an operator would pass with -f. */
    private UnaryOperator<TemplateCommand> values(String yaml) throws IOException {
        Path file = Files.createTempFile(tmp, "values", ".yaml");
        Files.writeString(file, yaml);
        return c -> c.withValuesFile(file);
    }

    private static List<JsonNode> documents(UnaryOperator<TemplateCommand> options) throws IOException {
        return documents(options.apply(new Helm(CHART).template().withName("attestmesh")
                .withNamespace("attestmesh-system").withKubeVersion(KUBE_VERSION)).call());
    }

    /** The non-empty YAML documents of a rendering (what {@code helm template} prints), in order. */
    static List<JsonNode> documents(String yaml) throws IOException {
        List<JsonNode> documents = new ArrayList<>();
        try (var parser = YAML.createParser(yaml)) {
            var iterator = YAML.readValues(parser, JsonNode.class);
            while (iterator.hasNext()) {
                JsonNode document = iterator.next();
                if (document != null && !document.isEmpty()) {
                    documents.add(document);
                }
            }
        }
        return documents;
    }

    private static Rendered render(UnaryOperator<TemplateCommand> options) throws IOException {
        List<JsonNode> documents = documents(options);
        JsonNode pod = documents.stream().filter(d -> d.path("kind").asText().equals("Deployment")
                && d.at("/metadata/labels/app.kubernetes.io~1component").asText().equals("control-plane")).findFirst()
                .orElseThrow().at("/spec/template/spec");
        JsonNode container = pod.at("/containers/0");
        assertEquals("control-plane", container.path("name").asText());
        ParseResult parsed = parse(container);
        assertEquals(List.of("server"), parsed.subcommand() == null ? List.of()
                : List.of(parsed.subcommand().commandSpec().name()));
        ServerCommand server = assertInstanceOf(ServerCommand.class, parsed.subcommand().commandSpec().userObject());
        return new Rendered(documents, pod, container, server);
    }

    /**
     * The container's args with its literal environment, through the CLI the image runs ({@link AttestMeshCli}
     * with {@link EnvironmentDefaultProvider}); an unknown option or a bad value throws.
     */
    private static ParseResult parse(JsonNode container) {
        Map<String, String> env = new LinkedHashMap<>();
        for (JsonNode variable : container.path("env")) {
            if (variable.has("value")) {
                env.put(variable.path("name").asText(), variable.path("value").asText());
            }
        }
        List<String> args = new ArrayList<>();
        assertTrue(container.path("command").isMissingNode(), "the image's entrypoint runs the CLI: " + container);
        container.path("args").forEach(a -> args.add(a.asText()));
        // The control plane's CLI plus the agent's command, as `./attestmesh` offers them: the chart's agent containers
        // still pass `agent` as their first argument. (The node-agent image's entrypoint is the agent itself, so a
        // chart for that image passes the agent's options only: docs/kubernetes.md, "Images".)
        CommandLine cli = new CommandLine(new AttestMeshCli()).addSubcommand(new dev.attestmesh.agent.cli.AgentCommand())
                .setDefaultValueProvider(new EnvironmentDefaultProvider(env, new Properties()));
        return cli.parseArgs(args.toArray(String[]::new));
    }

    private static JsonNode only(List<JsonNode> documents, String kind) {
        List<JsonNode> matching = documents.stream().filter(d -> d.path("kind").asText().equals(kind)).toList();
        assertEquals(1, matching.size(), kind);
        return matching.getFirst();
    }

    private static JsonNode volume(JsonNode pod, String name) {
        for (JsonNode v : pod.path("volumes")) {
            if (v.path("name").asText().equals(name)) {
                return v;
            }
        }
        throw new AssertionError("no volume " + name + " in " + pod);
    }

    private static boolean hasVolume(JsonNode pod, String name) {
        for (JsonNode v : pod.path("volumes")) {
            if (v.path("name").asText().equals(name)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Finds the mount under which {@code path} lies and checks that its volume provides that file: a key of the
     * chart's own ConfigMap (returns its text), or an item of a projected volume (a service-account token, a
     * ConfigMap item). Anything else fails.
     */
    private static Optional<String> provided(Rendered r, String path) {
        for (JsonNode mount : r.container().path("volumeMounts")) {
            String dir = mount.path("mountPath").asText();
            if (!path.startsWith(dir + "/")) {
                continue;
            }
            String name = path.substring(dir.length() + 1);
            JsonNode v = volume(r.pod(), mount.path("name").asText());
            if (v.has("configMap")) {
                String cm = v.at("/configMap/name").asText();
                JsonNode data = r.documents().stream().filter(d -> d.path("kind").asText().equals("ConfigMap")
                        && d.at("/metadata/name").asText().equals(cm)).findFirst()
                        .orElseThrow(() -> new AssertionError("ConfigMap " + cm + " is not rendered")).path("data");
                assertTrue(data.has(name), path + ": ConfigMap " + cm + " has no key " + name + ": " + data);
                return Optional.of(data.path(name).asText());
            }
            if (v.has("projected")) {
                for (JsonNode source : v.at("/projected/sources")) {
                    if (source.at("/serviceAccountToken/path").asText().equals(name)) {
                        return Optional.empty();
                    }
                    for (JsonNode item : source.at("/configMap/items")) {
                        if (item.path("path").asText().equals(name)) {
                            return Optional.empty();
                        }
                    }
                }
                throw new AssertionError(path + ": projected volume " + v + " has no " + name);
            }
            throw new AssertionError(path + ": mounted from " + v + ", which the chart does not fill");
        }
        throw new AssertionError(path + " is not under any volume mount of " + r.container());
    }

    private static String message(Exception e) {
        return String.valueOf(e.getMessage());
    }

    @Test
    void defaultRenderIsWhatTheServerAccepts() throws Exception {
        Rendered r = render(c -> c);
        Map<String, Object> p = r.properties();
        assertEquals("cluster.local", r.trustDomain());
        assertEquals("/var/lib/attestmesh", p.get("attestmesh.data-dir"));

        List<Policy> policies = PolicyDocuments.parse(r.file(p.get("attestmesh.policy-file")), "policies.yaml");
        Policy policy = policies.getFirst();
        assertEquals("default", policy.id());
        assertEquals(Duration.ofMinutes(10), policy.maxEvidenceAge());
        assertFalse(policy.allowDebug());
        Set<String> policyIds = policies.stream().map(Policy::id).collect(Collectors.toSet());

        List<Registration> registrations = RegistrationDocuments.parse(r.file(p.get("attestmesh.registration-file")),
                "registrations.yaml", r.trustDomain());
        assertEquals(List.of(new Registration("default-default", 1, "spiffe://cluster.local/ns/default/sa/default",
                List.of("default"), Optional.of(new Registration.KubernetesSelector("default", "default")),
                Optional.empty(), OptionalInt.empty())), registrations);
        registrations.forEach(reg -> assertTrue(policyIds.containsAll(reg.policies()), reg.toString()));

        MeshConfigParser.parse(r.file(p.get("attestmesh.mesh-file")), policyIds);

        // Kubernetes mode through OIDC discovery, with the in-cluster CA and the pod's own token.
        KubernetesTokenSettings k8s = r.kubernetes().orElseThrow();
        assertEquals("https://kubernetes.default.svc.cluster.local", k8s.issuer());
        assertEquals("attestmesh", k8s.audience());
        assertEquals(new KeySource.OidcDiscovery(Optional.of(Path.of(API + "/ca.crt")), Optional.of(Path.of(API + "/token"))),
                k8s.keySource().orElseThrow());
        assertTrue(k8s.tokenReview().isEmpty());
        assertTrue(provided(r, API + "/ca.crt").isEmpty() && provided(r, API + "/token").isEmpty());
        JsonNode api = volume(r.pod(), "kube-api-access");
        assertEquals("kube-root-ca.crt", api.at("/projected/sources/1/configMap/name").asText());
        assertTrue(api.at("/projected/sources/0/serviceAccountToken/audience").isMissingNode(),
                "the token for the API server carries the API server's audience");
        assertTrue(r.documents().stream().noneMatch(d -> d.path("kind").asText().equals("ClusterRoleBinding")),
                "no cluster-wide rights unless TokenReview is on");
    }

    /**
     * config.applyOnStart (default true: the values are the source of truth) renders the three apply flags, which
     * the real CLI turns into the mode properties; with those modes the control plane's loader takes the rendered
     * files, and a second start with changed values (what a helm upgrade rolls out) applies them.
     */
    @Test
    void applyOnStartRendersTheApplyFlagsAndTheServerAppliesTheRenderedFilesAtEveryStart() throws Exception {
        Rendered r = render(c -> c);
        Map<String, Object> p = r.properties();
        for (String kind : List.of("policy", "registration", "mesh")) {
            assertEquals("apply", p.get("attestmesh." + kind + "-file-mode"), kind + ": " + p);
        }
        try (Database db = Database.open(DatabaseSettings.embedded(), tmp.resolve("store"))) {
            List<DocumentFiles.Outcome> first = loadRendered(r, db, "first");
            assertEquals(List.of(true, true), first.subList(0, 2).stream().map(DocumentFiles.Outcome::written).toList(),
                    first.toString());
            assertEquals(List.of("default"), first.getFirst().diff().addedIds());
            assertTrue(first.get(1).message().contains("1 registrations in force"), first.get(1).message());
            // The default mesh (no services) is what an empty store already holds: nothing to write.
            assertTrue(first.get(2).message().contains("(no change)"), first.get(2).message());

            Rendered upgraded = render(values("""
                    config:
                      policies:
                        - {id: default, tee: [tdx, snp], tcbStatus: [UpToDate], debug: false, certificateTtl: 2h}
                      mesh: {services: []}
                    """));
            List<DocumentFiles.Outcome> second = loadRendered(upgraded, db, "second");
            assertEquals(List.of(new DocumentSetDiff.Entry("default", 1, 2)), second.getFirst().diff().changed(),
                    second.getFirst().message());
            assertTrue(second.get(1).diff().isEmpty(), "registrations unchanged: " + second.get(1).message());
        }

        // applyOnStart=false: no flag, so the server's default mode (seed) holds.
        Rendered seed = render(c -> c.set("config.applyOnStart", "false"));
        assertTrue(seed.properties().keySet().stream().noneMatch(k -> k.endsWith("-file-mode")),
                seed.properties().toString());
        Exception notBoolean = assertThrows(Exception.class, () -> documents(values("config: {applyOnStart: sometimes, "
                + "policies: [], mesh: {services: []}}\n")));
        assertTrue(message(notBoolean).contains("applyOnStart"), message(notBoolean));
    }

    /** The rendered files and modes through {@link DocumentFiles}, on registries over {@code db}, as at a start. */
    private List<DocumentFiles.Outcome> loadRendered(Rendered r, Database db, String name) throws Exception {
        Map<String, Object> p = r.properties();
        Path dir = Files.createDirectories(tmp.resolve(name));
        Path policies = Files.writeString(dir.resolve("policies.yaml"), r.file(p.get("attestmesh.policy-file")));
        Path registrations = Files.writeString(dir.resolve("registrations.yaml"),
                r.file(p.get("attestmesh.registration-file")));
        Path mesh = Files.writeString(dir.resolve("mesh.yaml"), r.file(p.get("attestmesh.mesh-file")));
        DocumentFileModes modes = new DocumentFileModes(mode(p, "policy"), mode(p, "registration"), mode(p, "mesh"));
        InProcessChangeNotifier changes = new InProcessChangeNotifier();
        PolicyRegistry policyRegistry = new PolicyRegistry(new PolicyStore(db), Clock.systemUTC(), changes,
                new PolicyRules(false, PolicyRules.DEFAULT_MAX_CERTIFICATE_TTL));
        RegistrationRegistry registrationRegistry = new RegistrationRegistry(new RegistrationStore(db), policyRegistry,
                r.trustDomain(), Clock.systemUTC(), changes);
        MeshConfigRegistry meshRegistry = new MeshConfigRegistry(new MeshConfigStore(db), policyRegistry,
                new EnvoyNodeDirectory(), new AttestedNodeDirectory(), Clock.systemUTC());
        return new DocumentFiles(policyRegistry, registrationRegistry, meshRegistry).load(new DocumentFiles.Sources(
                Optional.of(policies), Optional.of(registrations), Optional.of(mesh), modes));
    }

    private static FileMode mode(Map<String, Object> p, String kind) {
        String key = "attestmesh." + kind + "-file-mode";
        return FileMode.parse(key, p.getOrDefault(key, "seed").toString());
    }

    @Test
    void devModeIsOffByDefaultAndRendersTheDevFlag() throws Exception {
        assertFalse(render(c -> c).properties().containsKey("attestmesh.dev-mode"), "no --dev by default");
        assertEquals("true", render(c -> c.set("devMode", "true")).properties().get("attestmesh.dev-mode"));
        assertFalse(render(c -> c.set("devMode", "false")).properties().containsKey("attestmesh.dev-mode"));
        Exception notBoolean = assertThrows(Exception.class, () -> documents(values("devMode: \"yes\"\n")));
        assertTrue(message(notBoolean).contains("devMode"), message(notBoolean));
    }

    @Test
    void registrationsMapOneToOneOntoTheDocument() throws Exception {
        Rendered r = render(values("""
                trustDomain: mesh.example
                registrations:
                  - id: edge
                    spiffeId: spiffe://mesh.example/edge/{nodeId}
                    policies: [default]
                    selectors: {nodeId: "edge-*"}
                    maxInstances: 20
                  - id: payments
                    version: 3
                    spiffeId: spiffe://mesh.example/ns/prod/sa/payments
                    policies: [default]
                    selectors:
                      kubernetes: {namespace: prod, serviceAccount: payments}
                """));
        assertEquals("mesh.example", r.trustDomain());
        List<Registration> registrations = RegistrationDocuments.parse(
                r.file(r.properties().get("attestmesh.registration-file")), "registrations.yaml", r.trustDomain());
        assertEquals(List.of(
                new Registration("edge", 1, "spiffe://mesh.example/edge/{nodeId}", List.of("default"), Optional.empty(),
                        Optional.of("edge-*"), OptionalInt.of(20)),
                new Registration("payments", 3, "spiffe://mesh.example/ns/prod/sa/payments", List.of("default"),
                        Optional.of(new Registration.KubernetesSelector("prod", "payments")), Optional.empty(),
                        OptionalInt.empty())), registrations);
    }

    @Test
    void anEmptyRegistrationListRendersADocumentTheServerAccepts() throws Exception {
        Rendered r = render(values("registrations: []\n"));
        assertEquals(List.of(), RegistrationDocuments.parse(r.file(r.properties().get("attestmesh.registration-file")),
                "registrations.yaml", r.trustDomain()));
    }

    @Test
    void schemaRefusesRegistrationsOfTheWrongShape() {
        // Istio-form SPIFFE ID with no kubernetes selector: any attested TEE could claim the principal.
        Exception istio = assertThrows(Exception.class, () -> documents(values("""
                registrations:
                  - id: payments
                    spiffeId: spiffe://cluster.local/ns/prod/sa/payments
                    policies: [default]
                    selectors: {nodeId: "payments-*"}
                """)));
        assertTrue(message(istio).contains("values don't meet the specifications of the schema"), message(istio));
        assertTrue(message(istio).contains("at '/registrations/0/selectors': missing property 'kubernetes'"), message(istio));

        Exception noPolicies = assertThrows(Exception.class, () -> documents(values("""
                registrations:
                  - {id: edge, spiffeId: "spiffe://cluster.local/edge"}
                """)));
        assertTrue(message(noPolicies).contains("at '/registrations/0': missing property 'policies'"), message(noPolicies));

        Exception unknownField = assertThrows(Exception.class, () -> documents(values("""
                registrations:
                  - {id: edge, spiffeId: "spiffe://cluster.local/edge", policies: [default], namespace: prod}
                """)));
        assertTrue(message(unknownField).contains("at '/registrations/0': additional properties 'namespace' not allowed"),
                message(unknownField));

        Exception badCount = assertThrows(Exception.class, () -> documents(values("""
                registrations:
                  - {id: edge, spiffeId: "spiffe://cluster.local/edge", policies: [default], maxInstances: 0}
                """)));
        assertTrue(message(badCount).contains("at '/registrations/0/maxInstances'"), message(badCount));
    }

    @Test
    void theServerRefusesWhatTheSchemaCannotExpress() throws Exception {
        // Same shape, wrong service account: only the server's parser can compare the ID with the selector.
        Rendered r = render(values("""
                registrations:
                  - id: default-default
                    spiffeId: spiffe://cluster.local/ns/default/sa/default
                    policies: [default]
                    selectors:
                      kubernetes: {namespace: default, serviceAccount: payments}
                """));
        RegistrationValidationException e = assertThrows(RegistrationValidationException.class,
                () -> RegistrationDocuments.parse(r.file(r.properties().get("attestmesh.registration-file")),
                        "registrations.yaml", r.trustDomain()));
        assertTrue(message(e).contains("registrations[0].selectors.kubernetes: the SPIFFE ID names Kubernetes "
                + "namespace 'default' and service account 'default'"), message(e));

        // A trust domain changed without the registrations: the chart stops it before the server would.
        Exception td = assertThrows(Exception.class, () -> documents(c -> c.set("trustDomain", "mesh.example")));
        assertTrue(message(td).contains("registrations[0].spiffeId \"spiffe://cluster.local/ns/default/sa/default\" "
                + "is not in trustDomain \"mesh.example\""), message(td));
    }

    @Test
    void tokenReviewAddsTheUrlAndTheAuthDelegatorBindingForTheChartsServiceAccount() throws Exception {
        Rendered r = render(c -> c.set("kubernetes.tokenReview.enabled", "true"));
        KubernetesTokenSettings k8s = r.kubernetes().orElseThrow();
        KubernetesTokenSettings.TokenReview review = k8s.tokenReview().orElseThrow();
        assertEquals("https://kubernetes.default.svc", review.apiServer().toString());
        assertEquals(Path.of(API + "/token"), review.bearerTokenFile());
        assertEquals(Optional.of(Path.of(API + "/ca.crt")), review.caBundleFile());
        assertInstanceOf(KeySource.OidcDiscovery.class, k8s.keySource().orElseThrow());

        JsonNode binding = only(r.documents(), "ClusterRoleBinding");
        assertEquals("system:auth-delegator", binding.at("/roleRef/name").asText());
        assertEquals("ClusterRole", binding.at("/roleRef/kind").asText());
        assertEquals(r.pod().path("serviceAccountName").asText(), binding.at("/subjects/0/name").asText());
        assertEquals("attestmesh-system", binding.at("/subjects/0/namespace").asText());
        assertEquals(r.pod().path("serviceAccountName").asText(),
                only(r.documents(), "ServiceAccount").at("/metadata/name").asText());

        // TokenReview alone is a complete configuration too.
        Rendered only = render(c -> c.set("kubernetes.tokenReview.enabled", "true").set("kubernetes.oidcDiscovery", "false"));
        KubernetesTokenSettings reviewOnly = only.kubernetes().orElseThrow();
        assertTrue(reviewOnly.keySource().isEmpty());
        assertTrue(reviewOnly.tokenReview().isPresent());
    }

    @Test
    void keysFromValuesAreMountedFromTheConfigMap() throws Exception {
        String jwks = "{\"keys\":[]}";
        Rendered j = render(c -> c.set("kubernetes.oidcDiscovery", "false").set("kubernetes.jwks", jwks));
        KeySource.JwksFile file = assertInstanceOf(KeySource.JwksFile.class, j.kubernetes().orElseThrow().keySource().orElseThrow());
        assertEquals(jwks, j.file(file.file()).strip());
        assertFalse(hasVolume(j.pod(), "kube-api-access"), "local keys need no API credentials");

        String pem = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----";
        Rendered k = render(c -> c.set("kubernetes.oidcDiscovery", "false").set("kubernetes.publicKeys", pem));
        KeySource.PemFile pemFile = assertInstanceOf(KeySource.PemFile.class, k.kubernetes().orElseThrow().keySource().orElseThrow());
        assertEquals(pem, k.file(pemFile.file()).strip());

        Rendered u = render(c -> c.set("kubernetes.oidcDiscovery", "false")
                .set("kubernetes.jwksUrl", "https://kubernetes.default.svc/openid/v1/jwks"));
        KeySource.JwksUrl url = assertInstanceOf(KeySource.JwksUrl.class, u.kubernetes().orElseThrow().keySource().orElseThrow());
        assertEquals("https://kubernetes.default.svc/openid/v1/jwks", url.url().toString());
        assertTrue(provided(u, url.bearerTokenFile().orElseThrow().toString()).isEmpty());
        assertTrue(provided(u, url.caBundleFile().orElseThrow().toString()).isEmpty());
    }

    @Test
    void refusesTwoKeySourcesOrNone() {
        Exception two = assertThrows(Exception.class, () -> documents(c -> c.set("kubernetes.jwksUrl",
                "https://kubernetes.default.svc/openid/v1/jwks")));
        assertTrue(message(two).contains("set only one key source, not oidcDiscovery, jwksUrl"), message(two));
        Exception none = assertThrows(Exception.class, () -> documents(c -> c.set("kubernetes.oidcDiscovery", "false")));
        assertTrue(message(none).contains("kubernetes.enabled needs a way to verify tokens"), message(none));
        Exception http = assertThrows(Exception.class, () -> documents(c -> c.set("kubernetes.issuer", "")));
        assertTrue(message(http).contains("issuer"), message(http));
    }

    @Test
    void kubernetesModeOffPassesNoK8sOptionsAndMountsNoCredentials() throws Exception {
        UnaryOperator<TemplateCommand> nodes = values("""
                kubernetes: {enabled: false}
                registrations:
                  - {id: nodes, spiffeId: "spiffe://cluster.local/node/{nodeId}", policies: [default]}
                """);
        Rendered r = render(nodes);
        assertTrue(r.properties().keySet().stream().noneMatch(k -> k.startsWith("attestmesh.kubernetes.")),
                r.properties().toString());
        assertTrue(r.kubernetes().isEmpty());
        assertFalse(hasVolume(r.pod(), "kube-api-access"));
    }

    /**
     * The injected agent's args (the node-agent image's entrypoint is the agent, so they are its options only)
     * parse through the real CLI as {@code attestmesh agent ARGS}, and every file they name is mounted.
     */
    @Test
    void sidecarArgsAreAgentOptionsAndEveryPathIsMounted() throws Exception {
        JsonNode spec = YAML.readTree(YAML.readTree(ROOT.resolve("istio/injection-template.yaml").toFile())
                .at("/spec/values/sidecarInjectorWebhook/templates/attestmesh").asText()).path("spec");
        JsonNode sidecar = spec.at("/initContainers/0");
        assertTrue(sidecar.path("env").isMissingNode(), "options are args, not environment: " + sidecar);
        AgentOptions agent = agent(sidecar);
        assertEquals("attestmesh.attestmesh-system.svc:15010", agent.controlPlane);
        assertEquals(Path.of("/var/run/secrets/workload-spiffe-uds/socket"), agent.sdsSocket);
        assertFalse(agent.noSds);
        assertEquals("auto", agent.tee);
        assertTrue(agent.nodeId == null, "the node id is the pod UID from the token");
        for (Path p : List.of(agent.caBundle, agent.serviceAccountTokenFile, agent.output, agent.sdsSocket.getParent())) {
            assertTrue(mountOf(sidecar, p.toString()).isPresent(), p + " is not mounted in " + sidecar);
        }
        assertEquals("attestmesh", volume(spec, mountOf(sidecar, agent.serviceAccountTokenFile.toString()).orElseThrow())
                .at("/projected/sources/0/serviceAccountToken/audience").asText());
        assertEquals("attestmesh-ca-bundle", volume(spec, mountOf(sidecar, agent.caBundle.toString()).orElseThrow())
                .at("/configMap/name").asText());
        // istio-proxy (uid/gid 1337) reaches the 0660 socket through the group; the same gid keeps the agent's own
        // traffic out of Istio's capture; /tmp is writable under a read-only root; the TEE report interface is there.
        JsonNode sc = sidecar.path("securityContext");
        assertEquals(1337, sc.path("runAsGroup").asInt());
        assertTrue(sc.path("readOnlyRootFilesystem").asBoolean());
        assertEquals("Memory", volume(spec, mountOf(sidecar, "/tmp/x").orElseThrow()).at("/emptyDir/medium").asText());
        assertEquals("/sys/kernel/config/tsm/report", volume(spec, mountOf(sidecar,
                "/sys/kernel/config/tsm/report/x").orElseThrow()).at("/hostPath/path").asText());
        assertFalse(sidecar.at("/resources/limits/memory").isMissingNode(), sidecar.toString());
        assertEquals("/var/run/secrets/workload-spiffe-uds", spec.at("/containers/0/volumeMounts/0/mountPath").asText());
    }

    /** The agent options of a container's args, parsed as the node-agent image's entrypoint (the agent's main) does. */
    static AgentOptions agent(JsonNode container) {
        List<String> args = new ArrayList<>();
        container.path("args").forEach(a -> args.add(a.asText()));
        CommandLine cli = new CommandLine(new AgentCommand())
                .setDefaultValueProvider(new EnvironmentDefaultProvider(Map.of(), new Properties()));
        cli.parseArgs(args.toArray(String[]::new));
        return new AgentOptions(cli.getCommandSpec());
    }

    /** The parsed values of the agent's options that these tests look at. */
    static final class AgentOptions {
        final String controlPlane;
        final Path sdsSocket;
        final boolean noSds;
        final String tee;
        final String nodeId;
        final Path caBundle;
        final Path serviceAccountTokenFile;
        final Path output;
        final String identity;

        AgentOptions(CommandSpec spec) {
            controlPlane = spec.findOption("--control-plane").getValue();
            sdsSocket = spec.findOption("--sds-socket").getValue();
            Boolean off = spec.findOption("--no-sds").getValue();
            noSds = off != null && off;
            tee = spec.findOption("--tee").getValue();
            nodeId = spec.findOption("--node-id").getValue();
            caBundle = spec.findOption("--ca-bundle").getValue();
            serviceAccountTokenFile = spec.findOption("--service-account-token-file").getValue();
            output = spec.findOption("--output").getValue();
            identity = spec.findOption("--identity").getValue();
        }
    }

    /** The name of the volume mounted over {@code path} in {@code container}. */
    static Optional<String> mountOf(JsonNode container, String path) {
        for (JsonNode mount : container.path("volumeMounts")) {
            String dir = mount.path("mountPath").asText();
            if (path.equals(dir) || path.startsWith(dir + "/")) {
                return Optional.of(mount.path("name").asText());
            }
        }
        return Optional.empty();
    }

    @Test
    void standardValuesReachThePodSpecAndExtraArgsStillParse() throws Exception {
        Rendered r = render(values("""
                fullnameOverride: mesh-ca
                imagePullSecrets: [{name: registry-creds}]
                serviceAccount: {create: false, name: existing-sa}
                controlPlane:
                  podAnnotations: {example.com/team: security}
                  podLabels: {tier: control}
                  priorityClassName: system-cluster-critical
                  resources: {requests: {cpu: "2", memory: 2Gi}}
                  podSecurityContext: {runAsNonRoot: true, runAsUser: 20000, fsGroup: 20000}
                  securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false}
                  extraEnv: [{name: JAVA_TOOL_OPTIONS, value: "-XX:MaxRAMPercentage=70"}]
                  extraArgs: ["--challenge-rate=500"]
                  extraVolumes: [{name: extra-ca, configMap: {name: corp-ca}}]
                  extraVolumeMounts: [{name: extra-ca, mountPath: /etc/corp-ca, readOnly: true}]
                """));
        JsonNode deployment = only(r.documents(), "Deployment");
        assertEquals("mesh-ca", deployment.at("/metadata/name").asText());
        assertEquals("registry-creds", r.pod().at("/imagePullSecrets/0/name").asText());
        assertEquals("existing-sa", r.pod().path("serviceAccountName").asText());
        assertTrue(r.documents().stream().noneMatch(d -> d.path("kind").asText().equals("ServiceAccount")),
                "serviceAccount.create=false renders none");
        assertEquals("security", deployment.at("/spec/template/metadata/annotations/example.com~1team").asText());
        assertEquals("control", deployment.at("/spec/template/metadata/labels/tier").asText());
        assertEquals("system-cluster-critical", r.pod().path("priorityClassName").asText());
        assertEquals("2Gi", r.container().at("/resources/requests/memory").asText());
        assertEquals(20000, r.pod().at("/securityContext/runAsUser").asInt());
        assertEquals("500.0", r.properties().get("attestmesh.challenge.rate"), "extraArgs go through the CLI");
        assertTrue(r.container().path("env").toString().contains("MaxRAMPercentage"), r.container().toString());
        assertEquals("corp-ca", volume(r.pod(), "extra-ca").at("/configMap/name").asText());
        assertEquals(Optional.of("extra-ca"), mountOf(r.container(), "/etc/corp-ca/ca.pem"));
        assertEquals("mesh-ca,mesh-ca.attestmesh-system,mesh-ca.attestmesh-system.svc,"
                + "mesh-ca.attestmesh-system.svc.cluster.local", r.properties().get("attestmesh.server-names"));
        // nameOverride changes the labels and the name, not the selector's meaning.
        Rendered named = render(c -> c.set("nameOverride", "tee-ca"));
        assertEquals("attestmesh-tee-ca", only(named.documents(), "Deployment").at("/metadata/name").asText());
        assertEquals("tee-ca", only(named.documents(), "Service").at("/spec/selector/app.kubernetes.io~1name").asText());
    }

    /** Each bad value fails helm template with the schema's own message naming the field. */
    @Test
    void schemaRefusesBadValuesNamingTheField() {
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("controlPlane: {replicas: two}\n", "at '/controlPlane/replicas': got string, want integer");
        cases.put("controlPlane: {grpcPort: 70000}\n", "at '/controlPlane/grpcPort': maximum");
        cases.put("controlPlane: {admin: {tls: \"yes\"}}\n", "at '/controlPlane/admin/tls': got string, want boolean");
        cases.put("controlPlane: {podAntiAffinity: always}\n", "at '/controlPlane/podAntiAffinity'");
        cases.put("controlPlane: {resources: {request: {cpu: 1}}}\n",
                "at '/controlPlane/resources': additional properties 'request' not allowed");
        cases.put("nodeAgent: {mode: daemonset}\n", "at '': additional properties 'nodeAgent' not allowed");
        cases.put("imagePullSecrets: [registry-creds]\n", "at '/imagePullSecrets/0': got string, want object");
        cases.put("extAuthz: {agent: {tee: tpm}}\n", "at '/extAuthz/agent/tee'");
        cases.put("config: {policies: [{id: default, tee: [tpm]}], mesh: {services: []}}\n",
                "at '/config/policies/0/tee/0'");
        cases.put("config: {policies: [{id: default, tee: [sim], tcb: [UpToDate]}], mesh: {services: []}}\n",
                "at '/config/policies/0': additional properties 'tcb' not allowed");
        cases.put("config: {policies: [{id: default, tee: [sim]}], mesh: {services: [{name: a, members: {nodes: [n]}, "
                + "ingress: [{port: 80, protocol: udp}]}]}}\n", "at '/config/mesh/services/0/ingress/0/protocol'");
        cases.put("trustBundle: {configMap: Bad_Name}\n", "at '/trustBundle/configMap'");
        for (var c : cases.entrySet()) {
            Exception e = assertThrows(Exception.class, () -> documents(values(c.getKey())), c.getKey());
            assertTrue(message(e).contains("values don't meet the specifications of the schema"), message(e));
            assertTrue(message(e).contains(c.getValue()), c.getKey() + " -> " + message(e));
        }
    }

    /**
     * values-production.yaml: PostgreSQL, three replicas rolling one at a time, PDB, anti-affinity, NetworkPolicy,
     * ServiceMonitor, HTTPS admin with health probes, and standalone ext_authz wired to the control plane's Service
     * names; every container's args through the real CLI, every document through the server's parsers.
     */
    @Test
    void productionProfileRendersAWiredHighlyAvailableInstall() throws Exception {
        Path production = CHART.resolve("values-production.yaml");
        Rendered r = render(c -> c.withValuesFile(production));
        List<JsonNode> docs = r.documents();
        JsonNode deployment = only(docs, "Deployment", "attestmesh");
        assertEquals(3, deployment.at("/spec/replicas").asInt());
        assertEquals("RollingUpdate", deployment.at("/spec/strategy/type").asText());
        assertEquals(0, deployment.at("/spec/strategy/rollingUpdate/maxUnavailable").asInt());
        assertEquals("kubernetes.io/hostname", r.pod().at("/affinity/podAntiAffinity/"
                + "requiredDuringSchedulingIgnoredDuringExecution/0/topologyKey").asText());
        assertTrue(r.properties().get("attestmesh.data-dir") != null);
        Map<String, String> env = env(r.container());
        assertTrue(env.get("ATTESTMESH_DATABASE_URL").startsWith("jdbc:postgresql://"), env.toString());
        assertEquals("on", env.get("ATTESTMESH_ADMIN_TLS"));
        assertEquals("0.0.0.0", r.properties().get("attestmesh.admin-bind"));
        assertEquals("/health/ready", r.container().at("/readinessProbe/httpGet/path").asText());
        assertEquals("HTTPS", r.container().at("/readinessProbe/httpGet/scheme").asText());
        assertEquals("/health/live", r.container().at("/livenessProbe/httpGet/path").asText());
        // The settings the server reads from its environment (Micronaut's environment-variable convention), under the
        // keys of the issue-12 contract.
        Map<String, String> settings = serverSettings(r.container(), "attestmesh.admin.tls",
                "attestmesh.kubernetes.trust-bundle.publish", "attestmesh.kubernetes.trust-bundle.namespace-selector",
                "attestmesh.kubernetes.trust-bundle.config-map", "attestmesh.database.url", "attestmesh.ca-key-file");
        assertEquals("on", settings.get("attestmesh.admin.tls"));
        assertEquals("true", settings.get("attestmesh.kubernetes.trust-bundle.publish"));
        assertEquals("attestmesh.dev/trust-bundle=enabled", settings.get("attestmesh.kubernetes.trust-bundle.namespace-selector"));
        assertEquals("attestmesh-ca-bundle", settings.get("attestmesh.kubernetes.trust-bundle.config-map"));
        assertTrue(settings.get("attestmesh.database.url").startsWith("jdbc:postgresql://"), settings.toString());
        assertTrue(mountOf(r.container(), settings.get("attestmesh.ca-key-file")).isPresent(), settings.toString());

        JsonNode service = only(docs, "Service", "attestmesh");
        assertEquals("grpc-xds", service.at("/spec/ports/0/name").asText());
        assertEquals("grpc", service.at("/spec/ports/0/appProtocol").asText());
        assertEquals("https-admin", service.at("/spec/ports/1/name").asText());
        assertEquals("https", service.at("/spec/ports/1/appProtocol").asText());

        JsonNode pdb = only(docs, "PodDisruptionBudget", "attestmesh");
        assertEquals(2, pdb.at("/spec/minAvailable").asInt());
        assertEquals(deployment.at("/spec/selector/matchLabels"), pdb.at("/spec/selector/matchLabels"));
        JsonNode netpol = only(docs, "NetworkPolicy", "attestmesh");
        assertEquals(15010, netpol.at("/spec/ingress/0/ports/0/port").asInt());
        assertEquals(8443, netpol.at("/spec/ingress/1/ports/0/port").asInt());
        JsonNode monitor = only(docs, "ServiceMonitor", "attestmesh");
        assertEquals("https-admin", monitor.at("/spec/endpoints/0/port").asText());
        assertEquals("/metrics", monitor.at("/spec/endpoints/0/path").asText());
        assertEquals(service.at("/metadata/labels/app.kubernetes.io~1component").asText(),
                monitor.at("/spec/selector/matchLabels/app.kubernetes.io~1component").asText());
        JsonNode role = only(docs, "ClusterRole", "attestmesh-attestmesh-system-trust-bundle");
        assertEquals("[\"namespaces\"]", role.at("/rules/0/resources").toString());
        assertEquals("[\"configmaps\"]", role.at("/rules/1/resources").toString());

        // ext_authz: the authz CLI accepts the args; it dials a name in the control plane's certificate; the control
        // plane lets its replica identity watch; its agent asks for the identity the chart registered.
        JsonNode authzPod = only(docs, "Deployment", "attestmesh-ext-authz").at("/spec/template/spec");
        assertEquals(3, only(docs, "Deployment", "attestmesh-ext-authz").at("/spec/replicas").asInt());
        JsonNode authzContainer = authzPod.at("/containers/0");
        ParseResult authzParsed = parse(authzContainer);
        assertEquals("authz", authzParsed.subcommand().commandSpec().name());
        AuthzCommand authz = assertInstanceOf(AuthzCommand.class, authzParsed.subcommand().commandSpec().userObject());
        String host = authz.controlPlane.substring(0, authz.controlPlane.lastIndexOf(':'));
        assertTrue(List.of(r.properties().get("attestmesh.server-names").toString().split(",")).contains(host),
                host + " vs " + r.properties().get("attestmesh.server-names"));
        assertEquals(15010, Integer.parseInt(authz.controlPlane.substring(authz.controlPlane.lastIndexOf(':') + 1)));
        assertEquals("0.0.0.0", authz.bind);
        assertEquals("spiffe://cluster.local/attestmesh/replica/ext-authz", r.properties().get("attestmesh.authz.replica-identities"));
        AgentOptions authzAgent = agent(authzPod.at("/initContainers/0"));
        assertEquals("Always", authzPod.at("/initContainers/0/restartPolicy").asText());
        assertEquals(authz.controlPlane, authzAgent.controlPlane);
        assertEquals(authz.serveCert.getParent(), authzAgent.output);
        assertTrue(mountOf(authzPod.at("/initContainers/0"), "/sys/kernel/config/tsm/report/r1").isPresent(),
                "the replica's agent sees the TEE report interface");
        assertTrue(mountOf(authzContainer, authz.serveKey.toString()).equals(mountOf(authzPod.at("/initContainers/0"),
                authzAgent.output + "/key.pem")), "the replica reads the key its agent writes");
        List<Registration> registrations = RegistrationDocuments.parse(r.file(r.properties().get("attestmesh.registration-file")),
                "registrations.yaml", r.trustDomain());
        Registration replica = registrations.stream().filter(reg -> reg.spiffeId().equals(authzAgent.identity))
                .findFirst().orElseThrow(() -> new AssertionError(authzAgent.identity + " not registered: " + registrations));
        assertEquals(Optional.of(new Registration.KubernetesSelector("attestmesh-system", "attestmesh-ext-authz")),
                replica.kubernetes());
        assertEquals(authzPod.path("serviceAccountName").asText(), "attestmesh-ext-authz");
        JsonNode authzService = only(docs, "Service", "attestmesh-ext-authz");
        assertEquals("grpc", authzService.at("/spec/ports/0/appProtocol").asText());
        assertEquals(authz.port, authzService.at("/spec/ports/0/port").asInt());
        only(docs, "PodDisruptionBudget", "attestmesh-ext-authz");

        List<Policy> policies = PolicyDocuments.parse(r.file(r.properties().get("attestmesh.policy-file")), "policies.yaml");
        MeshConfigParser.parse(r.file(r.properties().get("attestmesh.mesh-file")),
                policies.stream().map(Policy::id).collect(Collectors.toSet()));

        // What the production profile must not allow.
        Exception monitorWithoutTls = assertThrows(Exception.class, () -> documents(c -> c.withValuesFile(production)
                .set("controlPlane.admin.tls", "false")));
        assertTrue(message(monitorWithoutTls).contains("serviceMonitor.enabled needs controlPlane.admin.tls=true"),
                message(monitorWithoutTls));
        Exception sharedVolume = assertThrows(Exception.class, () -> documents(c -> c.withValuesFile(production)
                .set("controlPlane.persistence.enabled", "true")));
        assertTrue(message(sharedVolume).contains("needs controlPlane.persistence.enabled=false"), message(sharedVolume));
        Exception noReplicaCert = assertThrows(Exception.class, () -> documents(c -> c.withValuesFile(production)
                .set("extAuthz.replicaCertificate.existingSecret", "")));
        assertTrue(message(noReplicaCert).contains("extAuthz.replicaCertificate.existingSecret must name a Secret"),
                message(noReplicaCert));
    }

    @Test
    void defaultProfileIsOneH2ReplicaWithLoopbackAdminAndServiceNamesInTheCertificate() throws Exception {
        Rendered r = render(c -> c);
        JsonNode deployment = only(r.documents(), "Deployment");
        assertEquals(1, deployment.at("/spec/replicas").asInt());
        assertEquals("Recreate", deployment.at("/spec/strategy/type").asText());
        assertTrue(env(r.container()).get("ATTESTMESH_DATABASE_URL") == null);
        assertEquals("127.0.0.1", r.properties().get("attestmesh.admin-bind"));
        assertFalse(env(r.container()).containsKey("ATTESTMESH_ADMIN_TLS"), "admin.tls stays at the server's default (off)");
        Map<String, String> settings = serverSettings(r.container(), "attestmesh.admin.tls",
                "attestmesh.kubernetes.trust-bundle.publish", "attestmesh.ca-key-file", "attestmesh.server-names");
        assertEquals(Map.of("attestmesh.admin.tls", "off", "attestmesh.ca-key-file", "/etc/attestmesh/ca-key/encryption-key",
                "attestmesh.server-names", r.properties().get("attestmesh.server-names")), settings);
        assertTrue(mountOf(r.container(), settings.get("attestmesh.ca-key-file")).isPresent());
        assertEquals("grpc-xds", r.container().at("/readinessProbe/tcpSocket/port").asText());
        assertEquals("attestmesh,attestmesh.attestmesh-system,attestmesh.attestmesh-system.svc,"
                + "attestmesh.attestmesh-system.svc.cluster.local", r.properties().get("attestmesh.server-names"));
        for (String kind : List.of("PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor", "ClusterRole", "DaemonSet")) {
            assertTrue(r.documents().stream().noneMatch(d -> d.path("kind").asText().equals(kind)), kind);
        }
        assertEquals(1, r.documents().stream().filter(d -> d.path("kind").asText().equals("Deployment")).count());
    }

    /**
     * {@code keys} as the server's Micronaut environment resolves them from the container's literal environment
     * variables (the same environment-variable convention as the process environment); unset keys are absent.
     */
    private static Map<String, String> serverSettings(JsonNode container, String... keys) {
        Map<String, Object> literal = new LinkedHashMap<>();
        env(container).forEach((k, v) -> {
            if (v != null) {
                literal.put(k, v);
            }
        });
        Map<String, String> out = new LinkedHashMap<>();
        try (ApplicationContext ctx = ApplicationContext.builder().environmentPropertySource(false).deduceEnvironment(false)
                .propertySources(PropertySource.of("pod-env", literal, PropertySource.PropertyConvention.ENVIRONMENT_VARIABLE,
                        PropertySource.Origin.of("pod-env")))
                .build()) {
            Environment environment = ctx.getEnvironment().start();
            for (String key : keys) {
                environment.getProperty(key, String.class).ifPresent(v -> out.put(key, v));
            }
        }
        return out;
    }

    private static Map<String, String> env(JsonNode container) {
        Map<String, String> env = new LinkedHashMap<>();
        container.path("env").forEach(v -> env.put(v.path("name").asText(), v.path("value").asText(null)));
        return env;
    }

    private static JsonNode only(List<JsonNode> documents, String kind, String name) {
        List<JsonNode> matching = documents.stream().filter(d -> d.path("kind").asText().equals(kind)
                && d.at("/metadata/name").asText().equals(name)).toList();
        assertEquals(1, matching.size(), kind + " " + name);
        return matching.getFirst();
    }
}
