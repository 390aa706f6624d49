package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.cfg.MapperConfig;
import tools.jackson.databind.introspect.Annotated;
import tools.jackson.databind.introspect.JacksonAnnotationIntrospector;
import tools.jackson.databind.json.JsonMapper;

/**
 * Every Kubernetes and Istio resource the project ships or renders, parsed strictly:
 * <ul>
 *   <li>Kubernetes kinds into fabric8's kubernetes-model API types, with unknown fields an error (fabric8's
 *       catch-all "additional properties" turned off), as {@code kubectl apply --validate=strict} would refuse
 *       them;</li>
 *   <li>Istio kinds (DestinationRule, AuthorizationPolicy, PeerAuthentication) and the Prometheus Operator's
 *       ServiceMonitor against the OpenAPI schemas of their published CRDs (vendored, see
 *       {@code src/test/resources/schemas/SOURCES.md}), with every object closed to unknown fields unless the CRD
 *       preserves them;</li>
 *   <li>the MeshConfig {@code extensionProviders} entry against the field names of Istio's {@code MeshConfig}
 *       proto (Istio publishes no OpenAPI schema for MeshConfig or IstioOperator);</li>
 *   <li>the injection templates' pod fragments as strict {@link PodSpec}s.</li>
 * </ul>
 * Not checked: CEL rules ({@code x-kubernetes-validations}) of the CRDs, and admission webhooks.
 */
class ShippedManifestSchemaTest {
    private static final Path ROOT = Path.of(System.getProperty("basedir", ".")).resolve("../istio-integration").normalize();
    private static final Path CHART = ROOT.resolve("charts/attestmesh");
    private static final Path ISTIO = ROOT.resolve("istio");
    private static final Path SCHEMAS = Path.of(System.getProperty("basedir", ".")).resolve("src/test/resources/schemas");
    private static final YAMLMapper YAML = new YAMLMapper();

    /** fabric8 model classes by apiVersion/kind: what the chart may render. */
    private static final Map<String, Class<?>> KUBERNETES = Map.ofEntries(
            Map.entry("v1/ConfigMap", ConfigMap.class),
            Map.entry("v1/Secret", Secret.class),
            Map.entry("v1/Service", Service.class),
            Map.entry("v1/ServiceAccount", ServiceAccount.class),
            Map.entry("v1/PersistentVolumeClaim", PersistentVolumeClaim.class),
            Map.entry("apps/v1/Deployment", Deployment.class),
            Map.entry("policy/v1/PodDisruptionBudget", PodDisruptionBudget.class),
            Map.entry("networking.k8s.io/v1/NetworkPolicy", NetworkPolicy.class),
            Map.entry("rbac.authorization.k8s.io/v1/ClusterRole", ClusterRole.class),
            Map.entry("rbac.authorization.k8s.io/v1/ClusterRoleBinding", ClusterRoleBinding.class));

    /** CRD files by group, for the custom kinds. */
    private static final Map<String, Path> CRDS = Map.of(
            "DestinationRule", SCHEMAS.resolve("istio/destinationrules.networking.istio.io.yaml"),
            "AuthorizationPolicy", SCHEMAS.resolve("istio/authorizationpolicies.security.istio.io.yaml"),
            "PeerAuthentication", SCHEMAS.resolve("istio/peerauthentications.security.istio.io.yaml"),
            "ServiceMonitor", SCHEMAS.resolve("prometheus-operator/monitoring.coreos.com_servicemonitors.yaml"));

    /**
     * Jackson 3 (what fabric8 8 is built on) with unknown properties an error. fabric8's model classes collect
     * unknown fields in an any-setter map, so the introspector reports no any-setter and no ignorable properties.
     */
    private static final JsonMapper STRICT = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .annotationIntrospector(new JacksonAnnotationIntrospector() {
                @Override
                public Boolean hasAnySetter(MapperConfig<?> config, Annotated a) {
                    return Boolean.FALSE;
                }

                @Override
                public JsonIgnoreProperties.Value findPropertyIgnoralByName(MapperConfig<?> config, Annotated a) {
                    return JsonIgnoreProperties.Value.empty();
                }
            })
            .build();

    private static List<JsonNode> render(UnaryOperator<TemplateCommand> options) throws IOException {
        String manifests = options.apply(new Helm(CHART).template().withName("attestmesh")
                .withNamespace("attestmesh-system").withKubeVersion(HelmChartServerConfigTest.KUBE_VERSION)).call();
        return documents(manifests);
    }

    private static List<JsonNode> documents(String yaml) throws IOException {
        return HelmChartServerConfigTest.documents(yaml);
    }

    /** The kinds every profile renders, so a new template cannot slip past unchecked. */
    @Test
    void everyRenderedResourceParsesStrictlyInEveryProfile() throws Exception {
        Path production = CHART.resolve("values-production.yaml");
        String pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        Map<String, UnaryOperator<TemplateCommand>> profiles = new LinkedHashMap<>();
        profiles.put("default", c -> c);
        profiles.put("production", c -> c.withValuesFile(production));
        profiles.put("token review, bundle and key from install", c -> c.set("kubernetes.tokenReview.enabled", "true")
                .set("trustBundle.pem", pem).set("caEncryptionKey.create", "true").set("caEncryptionKey.value", "k3y"));
        profiles.put("dev with ext_authz", c -> c.set("devMode", "true").set("extAuthz.enabled", "true")
                .set("extAuthz.replicaCertificate.existingSecret", "replica"));
        Set<String> seen = new TreeSet<>();
        for (var profile : profiles.entrySet()) {
            for (JsonNode document : render(profile.getValue())) {
                seen.add(check(document, profile.getKey()));
            }
        }
        assertEquals(new TreeSet<>(List.of("apps/v1/Deployment", "monitoring.coreos.com/v1/ServiceMonitor",
                "networking.k8s.io/v1/NetworkPolicy", "policy/v1/PodDisruptionBudget",
                "rbac.authorization.k8s.io/v1/ClusterRole", "rbac.authorization.k8s.io/v1/ClusterRoleBinding",
                "v1/ConfigMap", "v1/PersistentVolumeClaim", "v1/Secret", "v1/Service", "v1/ServiceAccount")), seen);
    }

    @Test
    void everyShippedIstioResourceMatchesItsCrdSchema() throws Exception {
        Set<String> seen = new TreeSet<>();
        for (String file : List.of("authorization-policy.yaml", "destination-rule.yaml", "destination-rule-ext-authz.yaml",
                "peer-authentication.yaml")) {
            for (JsonNode document : documents(Files.readString(ISTIO.resolve(file)))) {
                seen.add(check(document, file));
            }
        }
        assertEquals(Set.of("networking.istio.io/v1/DestinationRule", "security.istio.io/v1/AuthorizationPolicy",
                "security.istio.io/v1/PeerAuthentication"), seen);
    }

    /** A field Kubernetes does not have, anywhere in a pod, is refused; so is one an Istio CRD does not have. */
    @Test
    void strictParsingRefusesUnknownFields() throws Exception {
        JsonNode deployment = render(c -> c).stream().filter(d -> d.path("kind").asText().equals("Deployment"))
                .findFirst().orElseThrow().deepCopy();
        ((ObjectNode) deployment.at("/spec/template/spec/containers/0")).put("imagePullPolicys", "Always");
        AssertionError k8s = assertThrows(AssertionError.class, () -> check(deployment, "tampered"));
        assertTrue(k8s.getMessage().contains("imagePullPolicys"), k8s.getMessage());

        JsonNode rule = YAML.readTree(ISTIO.resolve("destination-rule.yaml").toFile()).deepCopy();
        ((ObjectNode) rule.at("/spec/trafficPolicy/portLevelSettings/0/tls")).putArray("subjectAltName").add("x");
        AssertionError istio = assertThrows(AssertionError.class, () -> check(rule, "tampered"));
        assertTrue(istio.getMessage().contains("subjectAltName"), istio.getMessage());

        JsonNode policy = YAML.readTree(ISTIO.resolve("authorization-policy.yaml").toFile()).deepCopy();
        ((ObjectNode) policy.path("spec")).put("action", "ALLOW_IF_ATTESTED");
        AssertionError value = assertThrows(AssertionError.class, () -> check(policy, "tampered"));
        assertTrue(value.getMessage().contains("action"), value.getMessage());

        AssertionError kind = assertThrows(AssertionError.class, () -> check(YAML.readTree(
                "apiVersion: networking.istio.io/v1\nkind: DestinationRules\nspec: {}\n"), "tampered"));
        assertTrue(kind.getMessage().contains("DestinationRules"), kind.getMessage());
    }

    @Test
    void injectionTemplatesArePodSpecFragments() throws Exception {
        JsonNode operator = YAML.readTree(ISTIO.resolve("injection-template.yaml").toFile());
        assertEquals("install.istio.io/v1alpha1", operator.path("apiVersion").asText());
        assertEquals("IstioOperator", operator.path("kind").asText());
        JsonNode templates = operator.at("/spec/values/sidecarInjectorWebhook/templates");
        List<String> names = new ArrayList<>();
        templates.fieldNames().forEachRemaining(names::add);
        assertEquals(3, names.size(), names.toString());
        for (String name : names) {
            JsonNode template = YAML.readTree(templates.path(name).asText());
            assertEquals(List.of("spec"), fields(template), name);
            strict(template.path("spec"), PodSpec.class, name);
        }
    }

    /**
     * The extension provider as Istio's MeshConfig proto defines it (istio/api mesh/v1alpha1/config.proto): every
     * field used exists in its message, in the JSON (lowerCamel) spelling Istio reads.
     */
    @Test
    void extensionProviderUsesOnlyMeshConfigFields() throws Exception {
        String proto = Files.readString(SCHEMAS.resolve("istio-api/mesh-v1alpha1-config.proto"));
        JsonNode operator = YAML.readTree(ISTIO.resolve("meshconfig-extension-provider.yaml").toFile());
        assertEquals(List.of("meshConfig"), fields(operator.path("spec")));
        JsonNode mesh = operator.at("/spec/meshConfig");
        assertSubset(fields(mesh), protoFields(proto, "MeshConfig"), "meshConfig");
        for (JsonNode provider : mesh.path("extensionProviders")) {
            assertSubset(fields(provider), protoFields(proto, "ExtensionProvider"), "extensionProviders[]");
            assertSubset(fields(provider.path("envoyExtAuthzGrpc")),
                    protoFields(proto, "EnvoyExternalAuthorizationGrpcProvider"), "envoyExtAuthzGrpc");
        }
        // The check itself can fail: a misspelt field is not in the proto.
        assertFalse(protoFields(proto, "EnvoyExternalAuthorizationGrpcProvider").contains("failopen"));
        assertTrue(protoFields(proto, "EnvoyExternalAuthorizationGrpcProvider").contains("failOpen"));
    }

    /** Parses one document by its apiVersion/kind; returns "apiVersion/kind". Fails on anything unknown. */
    private static String check(JsonNode document, String where) throws IOException {
        String apiVersion = document.path("apiVersion").asText();
        String kind = document.path("kind").asText();
        String type = apiVersion + "/" + kind;
        Class<?> model = KUBERNETES.get(type);
        if (model != null) {
            strict(document, model, where + " " + type + " " + document.at("/metadata/name").asText());
            return type;
        }
        Path crd = CRDS.get(kind);
        if (crd == null) {
            throw new AssertionError(where + ": no schema known for " + type);
        }
        validateAgainstCrd(document, crd, where);
        return type;
    }

    private static void strict(JsonNode node, Class<?> model, String where) {
        try {
            STRICT.readValue(node.toString(), model);
        } catch (RuntimeException e) {
            throw new AssertionError(where + ": " + e.getMessage(), e);
        }
    }

    /** The document's spec against the CRD version its apiVersion names, every object closed to unknown fields. */
    private static void validateAgainstCrd(JsonNode document, Path crdFile, String where) throws IOException {
        JsonNode crd = YAML.readTree(crdFile.toFile());
        String kind = document.path("kind").asText();
        assertEquals(crd.at("/spec/names/kind").asText(), kind, where + ": kind");
        String[] apiVersion = document.path("apiVersion").asText().split("/");
        assertEquals(crd.at("/spec/group").asText(), apiVersion[0], where + ": group of " + kind);
        JsonNode version = null;
        for (JsonNode v : crd.at("/spec/versions")) {
            if (v.path("name").asText().equals(apiVersion[1]) && v.path("served").asBoolean()) {
                version = v;
            }
        }
        if (version == null) {
            throw new AssertionError(where + ": " + kind + " is not served as " + document.path("apiVersion").asText());
        }
        assertSubset(fields(document), List.of("apiVersion", "kind", "metadata", "spec"), where + " top level");
        JsonNode specSchema = closed(version.at("/schema/openAPIV3Schema/properties/spec").deepCopy());
        JsonSchema schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V4).getSchema(specSchema);
        Set<ValidationMessage> errors = schema.validate(document.path("spec"));
        if (!errors.isEmpty()) {
            throw new AssertionError(where + ": " + kind + " " + document.at("/metadata/name").asText() + ": " + errors);
        }
    }

    /**
     * Kubernetes prunes fields a structural schema does not name, and strict field validation refuses them; a
     * JSON-schema validator needs that said: every object with properties gets additionalProperties false unless
     * the CRD preserves unknown fields there.
     */
    private static JsonNode closed(JsonNode schema) {
        if (schema instanceof ObjectNode o) {
            if (o.has("properties") && !o.has("additionalProperties")
                    && !o.path("x-kubernetes-preserve-unknown-fields").asBoolean()) {
                o.put("additionalProperties", false);
            }
            for (Iterator<JsonNode> it = o.elements(); it.hasNext(); ) {
                closed(it.next());
            }
        } else if (schema.isArray()) {
            schema.forEach(ShippedManifestSchemaTest::closed);
        }
        return schema;
    }

    private static List<String> fields(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static void assertSubset(List<String> used, java.util.Collection<String> known, String where) {
        Set<String> unknown = new LinkedHashSet<>(used);
        unknown.removeAll(known);
        assertTrue(unknown.isEmpty(), where + ": unknown fields " + unknown + " (known: " + known + ")");
    }

    private static final Pattern FIELD = Pattern.compile("^\\s*(?:repeated\\s+)?[\\w.<>, ]+?\\s+(\\w+)\\s*=\\s*\\d+\\s*[;\\[]");

    /** The lowerCamel JSON names of the fields of {@code message} (its own, oneofs included, nested messages not). */
    static Set<String> protoFields(String proto, String message) {
        Matcher start = Pattern.compile("(?m)^\\s*message\\s+" + message + "\\s*\\{").matcher(proto);
        if (!start.find()) {
            throw new AssertionError("no message " + message + " in the proto");
        }
        Set<String> names = new TreeSet<>();
        int depth = 1;
        int nestedAt = -1;
        for (String line : proto.substring(start.end()).split("\n")) {
            String code = line.replaceAll("//.*", "");
            if (depth == 1 || (depth == 2 && nestedAt < 0)) {
                Matcher f = FIELD.matcher(code);
                if (f.find() && !code.strip().startsWith("message") && !code.strip().startsWith("enum")
                        && !code.strip().startsWith("option") && !code.strip().startsWith("reserved")) {
                    names.add(lowerCamel(f.group(1)));
                }
            }
            for (char ch : code.toCharArray()) {
                if (ch == '{') {
                    depth++;
                    if (depth == 2 && (code.strip().startsWith("message") || code.strip().startsWith("enum"))) {
                        nestedAt = depth;
                    }
                } else if (ch == '}') {
                    if (depth == nestedAt) {
                        nestedAt = -1;
                    }
                    depth--;
                }
            }
            if (depth == 0) {
                break;
            }
        }
        return names;
    }

    private static String lowerCamel(String snake) {
        StringBuilder b = new StringBuilder();
        boolean up = false;
        for (char c : snake.toCharArray()) {
            if (c == '_') {
                up = true;
            } else {
                b.append(up ? Character.toUpperCase(c) : c);
                up = false;
            }
        }
        return b.toString();
    }
}
