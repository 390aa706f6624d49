package dev.attestmesh.server.mesh;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.attestmesh.ca.SpiffeId;
import dev.attestmesh.input.UntrustedText;
import dev.attestmesh.server.mesh.MeshService.EgressPort;
import dev.attestmesh.server.mesh.MeshService.IngressPort;
import dev.attestmesh.server.mesh.MeshService.Membership;
import dev.attestmesh.server.mesh.MeshService.Protocol;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Parses and validates a mesh config document (YAML or JSON). Validation is complete before anything
 * is accepted: every problem is collected with the path of the field it concerns, and the document is
 * rejected as a whole when there is any ({@link MeshConfigException#problems()}).
 *
 * <p>Checked: unknown or duplicate fields, types, required fields, port ranges, service names (DNS
 * labels, unique), references to unknown services or upstream ports, listen-port clashes inside a
 * service and between services that list the same node id, application ports that equal a listen
 * port, unknown policy IDs (against the set given by the caller, normally the current
 * {@code PolicyRegistry}), ingress policies on a non-mutual service, and proxyless rules.
 * Thread-safe and stateless.
 */
public final class MeshConfigParser {
    /** Largest document accepted, in characters (admin API bodies are limited to 1 MiB by the server). */
    public static final int MAX_DOCUMENT_CHARS = 4 * 1024 * 1024;
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
    private static final Pattern IPV4 = Pattern.compile(
            "((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)");
    private static final Pattern IPV6 = Pattern.compile("[0-9a-fA-F:]*:[0-9a-fA-F:.]*");

    private static final Set<String> ROOT_FIELDS = Set.of("services");
    private static final Set<String> SERVICE_FIELDS = Set.of("name", "members", "mutual", "proxyless", "addresses",
            "ingress", "egress");
    private static final Set<String> MEMBER_FIELDS = Set.of("nodes", "spiffeIds", "registrations", "cluster",
            "metadata");
    private static final Set<String> INGRESS_FIELDS = Set.of("port", "appPort", "protocol", "policies");
    private static final Set<String> EGRESS_FIELDS = Set.of("port", "service", "servicePort", "policies");

    private MeshConfigParser() {}

    /**
     * Parses and validates {@code document}.
     *
     * @param knownPolicyIds the policy IDs that exist now; any other policy ID is a problem
     * @throws MeshConfigException listing every problem, when there is at least one
     */
    public static MeshConfig parse(String document, Set<String> knownPolicyIds) throws MeshConfigException {
        return parse(document, Optional.of(Set.copyOf(knownPolicyIds)), true);
    }

    /**
     * Parses a document that was valid when it was stored, without checking policy IDs: policies may
     * have been removed since, and connections that require a missing policy fail closed (no endpoint
     * qualifies and ext_authz denies) instead of the control plane refusing to start. Nor are the
     * limits on sizes and node ids checked that {@link #parse(String, Set)} applies: a document stored
     * before a limit existed still loads.
     */
    public static MeshConfig parseStored(String document) throws MeshConfigException {
        return parse(document, Optional.empty(), false);
    }

    /**
     * Parses and validates {@code document} with every check of {@link #parse(String, Set)} (limits
     * included) except whether its policy IDs exist: a mesh file is checked so at start even when it is
     * not written, since the policies it would be checked against then are not the ones it was written for.
     */
    public static MeshConfig parseIgnoringPolicies(String document) throws MeshConfigException {
        return parse(document, Optional.empty(), true);
    }

    private static MeshConfig parse(String document, Optional<Set<String>> knownPolicyIds, boolean checkLimits)
            throws MeshConfigException {
        if (checkLimits && document.length() > MAX_DOCUMENT_CHARS) {
            throw new MeshConfigException(List.of("document: " + document.length() + " characters, more than the limit "
                    + "of " + MAX_DOCUMENT_CHARS));
        }
        JsonNode root;
        try {
            root = YAML.readTree(document);
        } catch (JacksonException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr();
            throw new MeshConfigException(List.of("document: not valid YAML" + where + ": "
                    + UntrustedText.forLog(e.getOriginalMessage(), 300)));
        }
        List<String> problems = new ArrayList<>();
        if (root == null || root.isMissingNode() || root.isNull()) {
            throw new MeshConfigException(List.of("document: is empty; write 'services: []' for a mesh without services"));
        }
        if (!root.isObject()) {
            throw new MeshConfigException(List.of("document: must be a mapping with a 'services' list"));
        }
        unknownFields(root, "", ROOT_FIELDS, problems);
        JsonNode list = root.get("services");
        List<Optional<MeshService>> parsed = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        if (list == null || !list.isArray()) {
            problems.add("services: required, a list of services");
        } else {
            for (int i = 0; i < list.size(); i++) {
                JsonNode name = list.get(i).get("name");
                if (name != null && name.isTextual()) {
                    names.add(name.asText());
                }
                parsed.add(service(list.get(i), "services[" + i + "]", knownPolicyIds, checkLimits, problems));
            }
        }
        unknownUpstreams(list, names, problems);
        crossCheck(parsed, problems);
        List<MeshService> services = parsed.stream().flatMap(Optional::stream).toList();
        if (!problems.isEmpty()) {
            throw new MeshConfigException(problems);
        }
        return new MeshConfig(services.stream().map(s -> resolveUpstreamPorts(s, services)).toList());
    }

    private static Optional<MeshService> service(JsonNode n, String path, Optional<Set<String>> policies,
            boolean checkLimits, List<String> problems) {
        if (!n.isObject()) {
            problems.add(path + ": must be a mapping (name, members, ingress, egress, ...)");
            return Optional.empty();
        }
        int before = problems.size();
        unknownFields(n, path, SERVICE_FIELDS, problems);
        String name = requiredString(n, "name", path, problems);
        if (name != null && !DNS_LABEL.matcher(name).matches()) {
            problems.add(path + ".name: '" + UntrustedText.forLog(name) + "' must be a DNS label (lower-case letters, digits, '-', at most 63)");
        }
        boolean mutual = bool(n, "mutual", path, true, problems);
        boolean proxyless = bool(n, "proxyless", path, false, problems);
        Membership members = members(n.get("members"), path + ".members", checkLimits, problems);
        Map<String, String> addresses = stringMap(n.get("addresses"), path + ".addresses", problems);
        addresses.forEach((node, ip) -> {
            if (checkLimits && !SpiffeId.isNodeId(node)) {
                problems.add(path + ".addresses: '" + UntrustedText.forLog(node) + "' is not a node id (" + SpiffeId.NODE_ID_RULE
                        + ")");
            } else if (!IPV4.matcher(ip).matches() && !IPV6.matcher(ip).matches()) {
                problems.add(path + ".addresses." + UntrustedText.forLog(node) + ": '" + UntrustedText.forLog(ip)
                        + "' is not an IPv4 or IPv6 address literal");
            }
        });
        // Paths are kept beside the parsed entries so that messages name the document's own indexes
        // even when an earlier entry was dropped for its own problems.
        Map<String, IngressPort> ingress = new LinkedHashMap<>();
        JsonNode in = n.get("ingress");
        if (in != null && !in.isArray()) {
            problems.add(path + ".ingress: must be a list");
        } else if (in != null) {
            for (int i = 0; i < in.size(); i++) {
                String p = path + ".ingress[" + i + "]";
                ingress(in.get(i), p, proxyless, mutual, policies, problems).ifPresent(v -> ingress.put(p, v));
            }
        }
        Map<String, EgressPort> egress = new LinkedHashMap<>();
        JsonNode out = n.get("egress");
        if (out != null && !out.isArray()) {
            problems.add(path + ".egress: must be a list");
        } else if (out != null) {
            for (int i = 0; i < out.size(); i++) {
                String p = path + ".egress[" + i + "]";
                egress(out.get(i), p, proxyless, policies, problems).ifPresent(v -> egress.put(p, v));
            }
        }
        // Listen ports of one service share the node's network namespace.
        Map<Integer, String> listen = new HashMap<>();
        ingress.forEach((p, v) -> claim(listen, v.port(), p + ".port", problems));
        if (!proxyless) {
            egress.forEach((p, v) -> claim(listen, v.port(), p + ".port", problems));
            ingress.forEach((p, v) -> {
                if (listen.containsKey(v.appPort()) && v.appPort() != v.port()) {
                    problems.add(p + ".appPort: " + v.appPort() + " is also the listen port of "
                            + listen.get(v.appPort()) + "; the application needs its own port");
                }
            });
        }
        if (problems.size() != before || name == null || members == null) {
            return Optional.empty();
        }
        return Optional.of(new MeshService(name, members, mutual, proxyless, addresses, List.copyOf(ingress.values()),
                List.copyOf(egress.values())));
    }

    private static void claim(Map<Integer, String> listen, int port, String path, List<String> problems) {
        String other = listen.putIfAbsent(port, path);
        if (other != null) {
            problems.add(path + ": port " + port + " is already used by " + other);
        }
    }

    private static Membership members(JsonNode n, String path, boolean checkLimits, List<String> problems) {
        if (n == null) {
            problems.add(path + ": required (nodes, spiffeIds and/or registrations; cluster and metadata narrow them)");
            return null;
        }
        if (!n.isObject()) {
            problems.add(path + ": must be a mapping with nodes, spiffeIds and/or registrations (cluster and "
                    + "metadata may narrow them)");
            return null;
        }
        int before = problems.size();
        unknownFields(n, path, MEMBER_FIELDS, problems);
        Set<String> nodes = new LinkedHashSet<>(stringList(n.get("nodes"), path + ".nodes", problems));
        if (checkLimits) {
            List<String> listed = List.copyOf(nodes);
            for (int i = 0; i < listed.size(); i++) {
                if (!SpiffeId.isNodeId(listed.get(i))) {
                    problems.add(path + ".nodes: '" + UntrustedText.forLog(listed.get(i)) + "' is not a node id ("
                            + SpiffeId.NODE_ID_RULE + ")");
                }
            }
        }
        Set<String> spiffeIds = new LinkedHashSet<>();
        List<String> rawSpiffe = stringList(n.get("spiffeIds"), path + ".spiffeIds", problems);
        for (int i = 0; i < rawSpiffe.size(); i++) {
            try {
                spiffeIds.add(dev.attestmesh.ca.SpiffeId.parse(rawSpiffe.get(i)).uri());
            } catch (IllegalArgumentException e) {
                problems.add(path + ".spiffeIds[" + i + "]: " + UntrustedText.fit(e.getMessage(), 300));
            }
        }
        Set<String> registrations = new LinkedHashSet<>();
        List<String> rawRegs = stringList(n.get("registrations"), path + ".registrations", problems);
        for (int i = 0; i < rawRegs.size(); i++) {
            if (!dev.attestmesh.identity.Registration.ID.matcher(rawRegs.get(i)).matches()) {
                problems.add(path + ".registrations[" + i + "]: must be a registration ID matching "
                        + dev.attestmesh.identity.Registration.ID.pattern());
            } else {
                registrations.add(rawRegs.get(i));
            }
        }
        Optional<String> cluster = Optional.empty();
        JsonNode c = n.get("cluster");
        if (c != null) {
            if (!c.isTextual() || c.asText().isBlank()) {
                problems.add(path + ".cluster: must be a non-empty string (the Envoy node cluster)");
            } else {
                cluster = Optional.of(c.asText());
            }
        }
        Map<String, String> metadata = stringMap(n.get("metadata"), path + ".metadata", problems);
        if (checkLimits) {
            EnvoyNodeIdentity.limitProblem(cluster.orElse(""), metadata)
                    .ifPresent(problem -> problems.add(path + ": " + problem));
        }
        if (problems.size() == before && nodes.isEmpty() && spiffeIds.isEmpty() && registrations.isEmpty()) {
            problems.add(path + ": " + (cluster.isPresent() || !metadata.isEmpty()
                    ? "cluster and metadata are what a proxy says about itself, so they can only narrow an identity "
                            + "selector; add spiffeIds, registrations or nodes"
                    : "selects no node; give nodes, spiffeIds or registrations"));
        }
        return problems.size() == before ? new Membership(nodes, spiffeIds, registrations, cluster, metadata) : null;
    }

    private static Optional<IngressPort> ingress(JsonNode n, String path, boolean proxyless, boolean mutual,
            Optional<Set<String>> known, List<String> problems) {
        if (!n.isObject()) {
            problems.add(path + ": must be a mapping (port, appPort, protocol, policies)");
            return Optional.empty();
        }
        unknownFields(n, path, INGRESS_FIELDS, problems);
        int port = port(n, "port", path, true, problems);
        int appPort = port(n, "appPort", path, !proxyless, problems);
        Protocol protocol = Protocol.TCP;
        JsonNode p = n.get("protocol");
        if (p != null) {
            String s = p.isTextual() ? p.asText().toLowerCase(Locale.ROOT) : "";
            switch (s) {
                case "tcp" -> protocol = Protocol.TCP;
                case "http" -> protocol = Protocol.HTTP;
                default -> problems.add(path + ".protocol: must be tcp or http, got " + UntrustedText.forLog(p.toString()));
            }
        }
        if (proxyless && p != null && protocol != Protocol.HTTP) {
            problems.add(path + ".protocol: a proxyless gRPC service serves http (gRPC) only");
        }
        if (proxyless) {
            protocol = Protocol.HTTP;
        }
        List<String> policies = policies(n, path, known, problems);
        if (!mutual && !policies.isEmpty()) {
            problems.add(path + ".policies: callers cannot be checked when the service has mutual: false "
                    + "(no client certificate is required); remove the policies or set mutual: true");
        }
        if (!proxyless && port != 0 && port == appPort) {
            problems.add(path + ".appPort: " + appPort + " is also the listen port of " + path
                    + ".port; the application needs its own port");
        }
        // An entry with other problems still takes part in the port-clash checks when its ports parsed;
        // the service as a whole is rejected anyway.
        return port != 0 && (proxyless || appPort != 0)
                ? Optional.of(new IngressPort(port, appPort, protocol, policies)) : Optional.empty();
    }

    private static Optional<EgressPort> egress(JsonNode n, String path, boolean proxyless, Optional<Set<String>> known,
            List<String> problems) {
        if (!n.isObject()) {
            problems.add(path + ": must be a mapping (port, service, servicePort, policies)");
            return Optional.empty();
        }
        unknownFields(n, path, EGRESS_FIELDS, problems);
        int port = port(n, "port", path, !proxyless, problems);
        String service = requiredString(n, "service", path, problems);
        int servicePort = port(n, "servicePort", path, false, problems);
        List<String> policies = policies(n, path, known, problems);
        return service != null && (proxyless || port != 0)
                ? Optional.of(new EgressPort(port, service, servicePort, policies)) : Optional.empty();
    }

    /** Fills in an omitted {@code servicePort} with the upstream's only ingress port (checked before). */
    private static MeshService resolveUpstreamPorts(MeshService s, List<MeshService> all) {
        List<EgressPort> egress = s.egress().stream().map(e -> e.servicePort() != 0 ? e
                : new EgressPort(e.port(), e.service(), all.stream().filter(u -> u.name().equals(e.service()))
                        .findFirst().orElseThrow().ingress().getFirst().port(), e.policies())).toList();
        return new MeshService(s.name(), s.members(), s.mutual(), s.proxyless(), s.addresses(), s.ingress(), egress);
    }

    /** Checks that need every service: names, upstream references, ports shared through node ids. */
    /** Egress references to services that do not exist, also inside services with other problems. */
    private static void unknownUpstreams(JsonNode list, Set<String> names, List<String> problems) {
        if (list == null || !list.isArray()) {
            return;
        }
        for (int i = 0; i < list.size(); i++) {
            JsonNode egress = list.get(i).get("egress");
            if (egress == null || !egress.isArray()) {
                continue;
            }
            for (int j = 0; j < egress.size(); j++) {
                JsonNode target = egress.get(j).get("service");
                if (target != null && target.isTextual() && !target.asText().isBlank()
                        && !names.contains(target.asText())) {
                    problems.add("services[" + i + "].egress[" + j + "].service: no service is named '"
                            + target.asText() + "'; known: " + names);
                }
            }
        }
    }

    private static void crossCheck(List<Optional<MeshService>> parsed, List<String> problems) {
        Map<String, Integer> index = new LinkedHashMap<>();
        for (int i = 0; i < parsed.size(); i++) {
            if (parsed.get(i).isEmpty()) {
                continue;
            }
            Integer other = index.putIfAbsent(parsed.get(i).get().name(), i);
            if (other != null) {
                problems.add("services[" + i + "].name: '" + parsed.get(i).get().name()
                        + "' is already the name of services[" + other + "]");
            }
        }
        for (int i = 0; i < parsed.size(); i++) {
            if (parsed.get(i).isEmpty()) {
                continue; // its own problems are reported; its references cannot be resolved reliably
            }
            MeshService s = parsed.get(i).get();
            for (int j = 0; j < s.egress().size(); j++) {
                EgressPort e = s.egress().get(j);
                String path = "services[" + i + "].egress[" + j + "]";
                Integer target = index.get(e.service());
                if (target == null) {
                    continue; // unknown (reported above) or itself invalid (its own problems are reported)
                }
                MeshService up = parsed.get(target).get();
                if (up.ingress().isEmpty()) {
                    problems.add(path + ".service: service '" + up.name() + "' has no ingress ports to call");
                    continue;
                }
                Optional<IngressPort> upPort;
                if (e.servicePort() == 0) {
                    if (up.ingress().size() > 1) {
                        problems.add(path + ".servicePort: required because service '" + up.name()
                                + "' has several ingress ports " + up.ingress().stream().map(IngressPort::port).toList());
                    }
                    upPort = Optional.of(up.ingress().getFirst());
                } else {
                    upPort = up.ingressOn(e.servicePort());
                    if (upPort.isEmpty()) {
                        problems.add(path + ".servicePort: service '" + up.name() + "' has no ingress port "
                                + e.servicePort() + "; it has " + up.ingress().stream().map(IngressPort::port).toList());
                    }
                }
                if (s.proxyless() && upPort.isPresent() && upPort.get().protocol() != Protocol.HTTP) {
                    problems.add(path + ".service: a proxyless gRPC client can only call an http ingress port, but "
                            + up.name() + ":" + upPort.get().port() + " is tcp");
                }
                for (int k = 0; k < j; k++) {
                    EgressPort o = s.egress().get(k);
                    if (s.proxyless() && o.service().equals(e.service())) {
                        // A proxyless client dials xds:///<service>: one listener per upstream service.
                        problems.add(path + ".service: a proxyless service calls '" + e.service()
                                + "' through one target; it is already named by services[" + i + "].egress[" + k + "]");
                        continue;
                    }
                    if (o.service().equals(e.service()) && o.servicePort() == e.servicePort()
                            && !o.policies().equals(e.policies())) {
                        problems.add(path + ": calls the same upstream as services[" + i + "].egress[" + k
                                + "] with other policies; use one egress port per upstream port");
                    }
                }
            }
        }
        // Services naming the same node id share that node's ports.
        Map<String, Map<Integer, String>> portsByNode = new HashMap<>();
        for (int i = 0; i < parsed.size(); i++) {
            if (parsed.get(i).isEmpty()) {
                continue;
            }
            MeshService s = parsed.get(i).get();
            for (String node : s.members().nodeIds()) {
                Map<Integer, String> used = portsByNode.computeIfAbsent(node, k -> new HashMap<>());
                List<Map.Entry<Integer, String>> mine = new ArrayList<>();
                for (int j = 0; j < s.ingress().size(); j++) {
                    mine.add(Map.entry(s.ingress().get(j).port(), "services[" + i + "].ingress[" + j + "].port"));
                }
                if (!s.proxyless()) {
                    for (int j = 0; j < s.egress().size(); j++) {
                        mine.add(Map.entry(s.egress().get(j).port(), "services[" + i + "].egress[" + j + "].port"));
                    }
                }
                for (Map.Entry<Integer, String> m : mine) {
                    String other = used.get(m.getKey());
                    if (other != null && !other.startsWith("services[" + i + "]")) {
                        problems.add(m.getValue() + ": port " + m.getKey() + " clashes on node '" + node + "' with "
                                + other);
                    } else {
                        used.put(m.getKey(), m.getValue());
                    }
                }
            }
        }
    }

    private static List<String> policies(JsonNode n, String path, Optional<Set<String>> known, List<String> problems) {
        List<String> ids = stringList(n.get("policies"), path + ".policies", problems);
        Set<String> seen = new LinkedHashSet<>();
        for (int i = 0; i < ids.size(); i++) {
            String id = ids.get(i);
            if (known.isPresent() && !known.get().contains(id)) {
                problems.add(path + ".policies[" + i + "]: unknown policy ID '" + UntrustedText.forLog(id) + "'; known: "
                        + known.get().stream().sorted().toList() + " (add the policy first)");
            }
            if (!seen.add(id)) {
                problems.add(path + ".policies[" + i + "]: '" + id + "' is listed twice");
            }
        }
        return List.copyOf(seen);
    }

    private static int port(JsonNode n, String field, String path, boolean required, List<String> problems) {
        JsonNode v = n.get(field);
        if (v == null) {
            if (required) {
                problems.add(path + "." + field + ": required, a port number 1..65535");
            }
            return 0;
        }
        if (!v.isIntegralNumber() || v.asLong() < 1 || v.asLong() > 65535) {
            problems.add(path + "." + field + ": must be a port number 1..65535, got " + UntrustedText.forLog(v.toString()));
            return 0;
        }
        return v.asInt();
    }

    private static boolean bool(JsonNode n, String field, String path, boolean dflt, List<String> problems) {
        JsonNode v = n.get(field);
        if (v == null) {
            return dflt;
        }
        if (!v.isBoolean()) {
            problems.add(path + "." + field + ": must be true or false, got " + UntrustedText.forLog(v.toString()));
            return dflt;
        }
        return v.asBoolean();
    }

    private static String requiredString(JsonNode n, String field, String path, List<String> problems) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual() || v.asText().isBlank()) {
            problems.add(path + "." + field + ": required, a non-empty string");
            return null;
        }
        return v.asText();
    }

    private static List<String> stringList(JsonNode v, String path, List<String> problems) {
        if (v == null) {
            return List.of();
        }
        if (!v.isArray()) {
            problems.add(path + ": must be a list of strings");
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            JsonNode e = v.get(i);
            if (!e.isTextual() || e.asText().isBlank()) {
                problems.add(path + "[" + i + "]: must be a non-empty string, got " + UntrustedText.forLog(e.toString()));
            } else {
                out.add(e.asText());
            }
        }
        return out;
    }

    private static Map<String, String> stringMap(JsonNode v, String path, List<String> problems) {
        if (v == null) {
            return Map.of();
        }
        if (!v.isObject()) {
            problems.add(path + ": must be a mapping of strings to strings");
            return Map.of();
        }
        Map<String, String> out = new LinkedHashMap<>();
        v.properties().forEach(e -> {
            if (!e.getValue().isTextual()) {
                problems.add(path + "." + UntrustedText.forLog(e.getKey()) + ": must be a string, got "
                        + UntrustedText.forLog(e.getValue().toString()));
            } else {
                out.put(e.getKey(), e.getValue().asText());
            }
        });
        return out;
    }

    private static void unknownFields(JsonNode n, String path, Set<String> allowed, List<String> problems) {
        n.fieldNames().forEachRemaining(f -> {
            if (!allowed.contains(f)) {
                problems.add((path.isEmpty() ? "" : path + ".") + UntrustedText.forLog(f) + ": unknown field; allowed: "
                        + allowed.stream().sorted().toList());
            }
        });
    }
}
