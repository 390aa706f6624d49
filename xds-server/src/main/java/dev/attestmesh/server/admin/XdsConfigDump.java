package dev.attestmesh.server.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import dev.attestmesh.envoy.EnvoyTypeCatalog;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Renders a node's current xDS snapshot as JSON (proto3 JSON mapping, every {@code Any} expanded with
 * the Envoy type registry). Secret material is never included: any data source under a sensitive field
 * ({@code privateKey}, {@code password}, {@code secret}, session ticket {@code keys}, HMAC secrets) that
 * holds inline bytes, an inline string or an environment variable name has its value replaced by
 * {@code "[redacted]"}; file names are shown, since they reveal only where the node keeps a key.
 */
public final class XdsConfigDump {
    static final String REDACTED = "[redacted]";
    private static final Set<String> SENSITIVE = Set.of("privateKey", "password", "secret", "keys", "hmacSecret",
            "sessionTicketKeys", "pkcs12");
    private static final Set<String> INLINE = Set.of("inlineBytes", "inlineString", "environmentVariable");
    private static final Map<String, Resources.ResourceType> TYPES = Map.of(
            "listeners", Resources.ResourceType.LISTENER, "routes", Resources.ResourceType.ROUTE,
            "clusters", Resources.ResourceType.CLUSTER, "endpoints", Resources.ResourceType.ENDPOINT,
            "secrets", Resources.ResourceType.SECRET);

    private final JsonFormat.Printer printer;
    private final ObjectMapper mapper = new ObjectMapper();

    public XdsConfigDump() {
        this.printer = JsonFormat.printer().usingTypeRegistry(EnvoyTypeCatalog.standard().jsonTypeRegistry())
                .omittingInsignificantWhitespace();
    }

    /**
     * The dump: {@code {"nodeId":..,"listeners":{"version":..,"resources":[..]},"clusters":..}}; empty when
     * the cache holds no snapshot for the node.
     */
    public Optional<String> render(String nodeId, Optional<Snapshot> snapshot) {
        if (snapshot.isEmpty()) {
            return Optional.empty();
        }
        ObjectNode root = mapper.createObjectNode();
        root.put("nodeId", nodeId);
        for (String name : new String[] {"listeners", "routes", "clusters", "endpoints", "secrets"}) {
            Resources.ResourceType type = TYPES.get(name);
            ObjectNode section = root.putObject(name);
            section.put("version", snapshot.get().version(type));
            ArrayNode list = section.putArray("resources");
            for (Map.Entry<String, ? extends Message> r : snapshot.get().resources(type).entrySet()) {
                list.add(redact(toTree(r.getValue())));
            }
        }
        try {
            return Optional.of(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(root));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("config dump does not serialise: " + e.getMessage(), e);
        }
    }

    private JsonNode toTree(Message m) {
        try {
            return mapper.readTree(printer.print(m));
        } catch (InvalidProtocolBufferException | com.fasterxml.jackson.core.JsonProcessingException e) {
            // A type missing from the registry: show what it is, not its content.
            ObjectNode n = mapper.createObjectNode();
            n.put("@type", m.getDescriptorForType().getFullName());
            n.put("error", "cannot render as JSON: " + e.getMessage());
            return n;
        }
    }

    /** Replaces inline secret material under sensitive fields, recursively (also inside expanded Anys). */
    static JsonNode redact(JsonNode node) {
        if (node instanceof ObjectNode o) {
            Iterator<Map.Entry<String, JsonNode>> it = o.properties().iterator();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> f = it.next();
                if (SENSITIVE.contains(f.getKey())) {
                    redactDataSources(f.getValue());
                }
                redact(f.getValue());
            }
        } else if (node instanceof ArrayNode a) {
            a.forEach(XdsConfigDump::redact);
        }
        return node;
    }

    private static void redactDataSources(JsonNode n) {
        if (n instanceof ArrayNode a) {
            a.forEach(XdsConfigDump::redactDataSources);
        } else if (n instanceof ObjectNode o) {
            for (String f : INLINE) {
                if (o.has(f)) {
                    o.set(f, TextNode.valueOf(REDACTED));
                }
            }
            if (o.has("secret") && o.get("secret").isObject()) {
                redactDataSources(o.get("secret")); // generic_secret.secret and similar wrappers
            }
        }
    }
}
