package dev.attestmesh.envoy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * istio-integration: the Helm chart rendered and linted by Helm itself (helm-java wraps Helm's Go library),
 * and the Istio resources, which must agree with the chart on names and ports.
 */
class IstioIntegrationTest {

    private static final Path ROOT = Path.of(System.getProperty("basedir", ".")).resolve("../istio-integration").normalize();
    private static final Path CHART = ROOT.resolve("charts/attestmesh");
    private static final Path ISTIO = ROOT.resolve("istio");
    private static final ObjectMapper YAML = new YAMLMapper();

    private static List<JsonNode> render(UnaryOperator<TemplateCommand> options) throws IOException {
        String manifests = options.apply(new Helm(CHART).template().withName("attestmesh").withNamespace("attestmesh-system").withKubeVersion("1.31.0")).call();
        List<JsonNode> documents = new ArrayList<>();
        try (var parser = YAML.createParser(manifests)) {
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

    private static JsonNode only(List<JsonNode> documents, String kind) {
        List<JsonNode> matching = documents.stream().filter(d -> d.path("kind").asText().equals(kind)).toList();
        assertEquals(1, matching.size(), kind);
        return matching.getFirst();
    }

    private static List<String> kinds(List<JsonNode> documents) {
        return documents.stream().map(d -> d.path("kind").asText()).sorted().toList();
    }

    @Test
    void chartPassesHelmLintStrict() {
        LintResult result = new Helm(CHART).lint().strict().call();
        assertFalse(result.isFailed(), String.join("\n", result.getMessages()));
    }

    @Test
    void defaultRenderHasTheControlPlaneAndReferencesTheCaKeySecretWithoutCreatingIt() throws IOException {
        List<JsonNode> documents = render(c -> c);
        assertEquals(List.of("ConfigMap", "Deployment", "PersistentVolumeClaim", "Service", "ServiceAccount"), kinds(documents));

        JsonNode service = only(documents, "Service");
        assertEquals("attestmesh", service.at("/metadata/name").asText());
        List<Integer> ports = new ArrayList<>();
        service.at("/spec/ports").forEach(p -> ports.add(p.path("port").asInt()));
        assertEquals(List.of(15010), ports, "admin.tls off: the admin API is on the pod's loopback, not on the Service");
        List<Integer> tlsPorts = new ArrayList<>();
        only(render(c -> c.set("controlPlane.admin.tls", "true")), "Service").at("/spec/ports")
                .forEach(p -> tlsPorts.add(p.path("port").asInt()));
        assertEquals(List.of(15010, 8443), tlsPorts);

        JsonNode pod = only(documents, "Deployment").at("/spec/template/spec");
        JsonNode caVolume = volume(pod, "ca-encryption-key");
        assertEquals("attestmesh-ca-encryption-key", caVolume.at("/secret/secretName").asText());
        assertEquals("attestmesh-data", volume(pod, "data").at("/persistentVolumeClaim/claimName").asText());

        // The documents are what the server's parsers read (xds-server's HelmChartServerConfigTest feeds them to
        // PolicyDocuments, RegistrationDocuments and MeshConfigParser); here only the chart's layout.
        JsonNode config = only(documents, "ConfigMap");
        JsonNode policies = YAML.readTree(config.at("/data/policies.yaml").asText());
        assertEquals("default", policies.at("/policies/0/id").asText(), policies.toString());
        JsonNode registrations = YAML.readTree(config.at("/data/registrations.yaml").asText());
        assertEquals("spiffe://cluster.local/ns/default/sa/default", registrations.at("/registrations/0/spiffeId").asText());
        assertEquals(List.of("services"), fieldNames(YAML.readTree(config.at("/data/mesh.yaml").asText())),
                "the mesh config has no trustDomain field: the server's --trust-domain sets it");
        JsonNode controlPlane = pod.at("/containers/0");
        assertEquals("cluster.local", env(controlPlane, "ATTESTMESH_TRUST_DOMAIN"));
        assertTrue(controlPlane.path("args").toString().contains("\"--registration-file=/etc/attestmesh/config/registrations.yaml\""),
                controlPlane.path("args").toString());
    }

    @Test
    void createsTheCaKeySecretOnlyFromAValueGivenAtInstallTime() throws IOException {
        List<JsonNode> documents = render(c -> c.set("caEncryptionKey.create", "true").set("caEncryptionKey.value", "k3y"));
        JsonNode secret = only(documents, "Secret");
        assertEquals("k3y", new String(Base64.getDecoder().decode(secret.at("/data/encryption-key").asText())));
        assertEquals(secret.at("/metadata/name").asText(),
                volume(only(documents, "Deployment").at("/spec/template/spec"), "ca-encryption-key").at("/secret/secretName").asText());

        Exception missing = assertThrows(Exception.class, () -> render(c -> c.set("caEncryptionKey.create", "true")));
        assertTrue(missing.getMessage().contains("caEncryptionKey.value is empty"), missing.getMessage());
    }

    @Test
    void refusesSeveralReplicasOnTheEmbeddedDatabase() {
        Exception error = assertThrows(Exception.class, () -> render(c -> c.set("controlPlane.replicas", "2")));
        assertTrue(error.getMessage().contains("needs controlPlane.database.url"), error.getMessage());
    }

    @Test
    void theNodeAgentDaemonSetIsGone() {
        // One agent per node handed one node identity to every pod on it: removed (docs/kubernetes.md).
        Exception unknown = assertThrows(Exception.class, () -> render(c -> c.set("nodeAgent.mode", "daemonset")));
        assertTrue(unknown.getMessage().contains("additional properties 'nodeAgent' not allowed"), unknown.getMessage());
    }

    /** The agent's required --ca-bundle comes from a ConfigMap mounted read-only where the option points. */
    private static void assertTrustBundleMounted(JsonNode pod, JsonNode agent, String configMap) {
        assertEquals("/etc/attestmesh/trust/ca-bundle.pem", arg(agent, "--ca-bundle"));
        boolean mounted = false;
        for (JsonNode mount : agent.path("volumeMounts")) {
            if (mount.path("mountPath").asText().equals("/etc/attestmesh/trust")) {
                mounted = true;
                assertTrue(mount.path("readOnly").asBoolean(), mount.toString());
                assertEquals(configMap, volume(pod, mount.path("name").asText()).at("/configMap/name").asText());
            }
        }
        assertTrue(mounted, "no trust bundle mount in " + agent);
    }

    @Test
    void createsTheTrustBundleConfigMapOnlyFromPemGivenAtInstallTime() throws IOException {
        assertTrue(render(c -> c).stream().noneMatch(d -> d.at("/metadata/name").asText().equals("attestmesh-ca-bundle")),
                "without trustBundle.pem the operator publishes the bundle after the first start");
        String pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        List<JsonNode> documents = render(c -> c.set("trustBundle.pem", pem).set("trustBundle.configMap", "mesh-trust"));
        JsonNode bundle = documents.stream().filter(d -> d.path("kind").asText().equals("ConfigMap")
                && d.at("/metadata/name").asText().equals("mesh-trust")).findFirst().orElseThrow();
        assertEquals(pem, bundle.at("/data/ca-bundle.pem").asText());
        Exception notPem = assertThrows(Exception.class, () -> render(c -> c.set("trustBundle.pem", "hello")));
        assertTrue(notPem.getMessage().contains("trustBundle.pem must hold PEM certificates"), notPem.getMessage());
    }

    @Test
    void everyNonTemplateYamlFileParses() throws IOException {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(ROOT)) {
            files = walk.filter(p -> p.toString().endsWith(".yaml"))
                    .filter(p -> !p.startsWith(CHART.resolve("templates")))
                    .sorted().toList();
        }
        assertEquals(9, files.size(), files.toString());
        for (Path file : files) {
            JsonNode document = YAML.readTree(file.toFile());
            assertTrue(document != null && document.isObject(), file.toString());
        }
    }

    @Test
    void istioResourcesAgreeWithTheChartOnProviderServiceAndPort() throws IOException {
        JsonNode provider = YAML.readTree(ISTIO.resolve("meshconfig-extension-provider.yaml").toFile())
                .at("/spec/meshConfig/extensionProviders/0");
        JsonNode grpc = provider.path("envoyExtAuthzGrpc");
        assertEquals(15010, grpc.path("port").asInt());
        assertFalse(grpc.path("failOpen").asBoolean(true));

        JsonNode service = only(render(c -> c), "Service");
        String serviceHost = service.at("/metadata/name").asText() + "." + service.at("/metadata/namespace").asText()
                + ".svc.cluster.local";
        assertEquals(serviceHost, grpc.path("service").asText());

        JsonNode policy = YAML.readTree(ISTIO.resolve("authorization-policy.yaml").toFile());
        assertEquals("AuthorizationPolicy", policy.path("kind").asText());
        assertEquals("CUSTOM", policy.at("/spec/action").asText());
        assertEquals(provider.path("name").asText(), policy.at("/spec/provider/name").asText());

        JsonNode destinationRule = YAML.readTree(ISTIO.resolve("destination-rule.yaml").toFile());
        assertEquals(serviceHost, destinationRule.at("/spec/host").asText());
        assertEquals(15010, destinationRule.at("/spec/trafficPolicy/portLevelSettings/0/port/number").asInt());
        assertEquals("ISTIO_MUTUAL", destinationRule.at("/spec/trafficPolicy/portLevelSettings/0/tls/mode").asText());
        // the proxies' calls to the control plane accept only the reserved control-plane identity
        JsonNode sans = destinationRule.at("/spec/trafficPolicy/portLevelSettings/0/tls/subjectAltNames");
        assertEquals(1, sans.size());
        assertEquals("spiffe://" + YAML.readTree(ISTIO.resolve("meshconfig-extension-provider.yaml").toFile())
                .at("/spec/meshConfig/trustDomain").asText() + "/attestmesh/control-plane",
                sans.get(0).asText());
    }

    @Test
    void injectionTemplatesMountTheWorkloadSocketIntoTheProxy() throws IOException {
        JsonNode templates = YAML.readTree(ISTIO.resolve("injection-template.yaml").toFile())
                .at("/spec/values/sidecarInjectorWebhook/templates");
        assertEquals(List.of("attestmesh", "attestmesh-sev-guest", "attestmesh-tdx-guest"),
                fieldNames(templates).stream().sorted().toList());
        JsonNode spec = YAML.readTree(templates.path("attestmesh").asText()).path("spec");
        JsonNode proxy = spec.at("/containers/0");
        assertEquals("istio-proxy", proxy.path("name").asText());
        assertEquals("/var/run/secrets/workload-spiffe-uds", proxy.at("/volumeMounts/0/mountPath").asText());
        assertEquals("Memory", volume(spec, "workload-socket").at("/emptyDir/medium").asText());
        JsonNode agent = YAML.readTree(templates.path("attestmesh").asText()).at("/spec/initContainers/0");
        assertEquals("Always", agent.path("restartPolicy").asText(), "the agent must be a native sidecar");
        assertEquals("/var/run/secrets/workload-spiffe-uds/socket", arg(agent, "--sds-socket"));
        assertTrustBundleMounted(YAML.readTree(templates.path("attestmesh").asText()).path("spec"), agent,
                "attestmesh-ca-bundle");
        // The pod's projected token (audience attestmesh) is where the agent reads it.
        JsonNode sidecarSpec = YAML.readTree(templates.path("attestmesh").asText()).path("spec");
        String token = arg(agent, "--service-account-token-file");
        boolean tokenMounted = false;
        for (JsonNode mount : agent.path("volumeMounts")) {
            String dir = mount.path("mountPath").asText();
            if (token.startsWith(dir + "/")) {
                JsonNode source = volume(sidecarSpec, mount.path("name").asText()).at("/projected/sources/0/serviceAccountToken");
                assertEquals("attestmesh", source.path("audience").asText());
                assertEquals(token.substring(dir.length() + 1), source.path("path").asText());
                tokenMounted = true;
            }
        }
        assertTrue(tokenMounted, "no projected token at " + token + " in " + agent);
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static JsonNode volume(JsonNode podSpec, String name) {
        for (JsonNode volume : podSpec.path("volumes")) {
            if (volume.path("name").asText().equals(name)) {
                return volume;
            }
        }
        throw new AssertionError("no volume " + name + " in " + podSpec);
    }

    /** The value of {@code --name=value} in the container's args. */
    private static String arg(JsonNode container, String name) {
        for (JsonNode a : container.path("args")) {
            if (a.asText().startsWith(name + "=")) {
                return a.asText().substring(name.length() + 1);
            }
        }
        throw new AssertionError("no " + name + " in " + container.path("args"));
    }

    private static String env(JsonNode container, String name) {
        for (JsonNode variable : container.path("env")) {
            if (variable.path("name").asText().equals(name)) {
                return variable.path("value").asText();
            }
        }
        throw new AssertionError("no env " + name + " in " + container);
    }
}
