package dev.attestmesh.identity;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.attestmesh.ca.SpiffeId;
import dev.attestmesh.input.UntrustedText;
import dev.attestmesh.policy.Policy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads and writes registration documents (YAML, or JSON). Parsing validates everything and reports
 * every problem with its location; a document with any problem yields nothing.
 *
 * <h2>Format</h2>
 *
 * <pre>
 * registrations:
 *   - id: payments                 # required; [a-z0-9][a-z0-9._-]{0,62}, unique
 *     spiffeId: spiffe://mesh.example/ns/prod/sa/payments   # required; unique; never under /attestmesh
 *     policies: [production]       # required, 1-16 policy IDs; the evidence must satisfy all of them
 *     selectors:                   # optional; every selector given must hold
 *       kubernetes:                # proven by the pod's service-account token, never by request fields
 *         namespace: prod
 *         serviceAccount: payments
 *       nodeId: "payments-*"       # glob over the node id; * matches any run of characters
 *     maxInstances: 20             # optional, 1-100000: live nodes holding the identity at once
 *   - id: edge-nodes
 *     spiffeId: spiffe://mesh.example/edge/{nodeId}       # one identity per node
 *     policies: [default]
 *     selectors: {nodeId: "edge-*"}
 * </pre>
 *
 * Rules beyond the shapes: the SPIFFE ID's trust domain is the control plane's; {@value
 * Registration#NODE_ID_PLACEHOLDER} may appear once, as a whole path segment; an ID of the Istio form
 * {@code /ns/<namespace>/sa/<service-account>} requires the {@code kubernetes} selector naming the same
 * namespace and service account (else any attested TEE could claim a Kubernetes principal); at most
 * {@value #MAX_REGISTRATIONS} registrations. Unknown fields are errors. Whether the named policies
 * exist is checked by the registry that stores the document, against the policies in force.
 */
public final class RegistrationDocuments {
    /** Largest number of registrations in one document (and in the store). */
    public static final int MAX_REGISTRATIONS = 10_000;
    /** Largest document accepted, in characters. */
    public static final int MAX_DOCUMENT_CHARS = 4 * 1024 * 1024;
    static final int MAX_POLICIES = 16;
    static final int MAX_INSTANCES = 100_000;
    private static final Set<String> DOC_FIELDS = Set.of("registrations");
    private static final Set<String> FIELDS = Set.of("id", "version", "spiffeId", "policies", "selectors",
            "maxInstances");
    private static final Set<String> SELECTOR_FIELDS = Set.of("kubernetes", "nodeId");
    private static final Set<String> K8S_FIELDS = Set.of("namespace", "serviceAccount");
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
    private static final Pattern DNS_SUBDOMAIN = Pattern.compile(
            "(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*");
    private static final Pattern NODE_GLOB = Pattern.compile("[A-Za-z0-9._*-]{1,128}");
    private static final Pattern ISTIO_PATH = Pattern.compile("/ns/([^/]+)/sa/([^/]+)");
    private static final YAMLMapper MAPPER;

    static {
        YAMLFactory f = YAMLFactory.builder().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(32)
                        .maxStringLength(64 * 1024).build())
                .build();
        MAPPER = YAMLMapper.builder(f).enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION).build();
    }

    private RegistrationDocuments() {}

    /** Reads and validates a registration file. */
    public static List<Registration> load(Path file, String trustDomain) throws RegistrationValidationException {
        String text;
        try {
            if (Files.size(file) > MAX_DOCUMENT_CHARS) {
                throw new RegistrationValidationException(file.toString(), List.of("file is larger than "
                        + MAX_DOCUMENT_CHARS + " bytes"));
            }
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new RegistrationValidationException(file.toString(), List.of("file is not valid UTF-8 text"));
        } catch (IOException e) {
            throw new RegistrationValidationException(file.toString(), List.of("cannot read file: " + e.getMessage()));
        }
        return parse(text, file.toString(), trustDomain);
    }

    /**
     * Parses and validates a registration document.
     *
     * @param sourceName names the document in the exception message
     * @param trustDomain the control plane's trust domain; every SPIFFE ID must be in it
     * @throws RegistrationValidationException listing every problem found
     */
    public static List<Registration> parse(String text, String sourceName, String trustDomain)
            throws RegistrationValidationException {
        if (text.length() > MAX_DOCUMENT_CHARS) {
            throw new RegistrationValidationException(sourceName, List.of("document is longer than "
                    + MAX_DOCUMENT_CHARS + " characters"));
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : "line " + e.getLocation().getLineNr() + ": ";
            throw new RegistrationValidationException(sourceName, List.of(where + "not valid YAML/JSON: "
                    + bounded(e.getOriginalMessage())));
        }
        if (root == null || root.isMissingNode() || !root.isObject()) {
            throw new RegistrationValidationException(sourceName,
                    List.of("document must be a mapping with a 'registrations' list"));
        }
        List<String> problems = new ArrayList<>();
        unknownFields(root, "", DOC_FIELDS, problems);
        List<Registration> out = new ArrayList<>();
        JsonNode list = root.get("registrations");
        if (list == null || !list.isArray()) {
            problems.add("registrations: required, must be a list (it may be empty)");
        } else if (list.size() > MAX_REGISTRATIONS) {
            problems.add("registrations: " + list.size() + " entries, more than the limit of " + MAX_REGISTRATIONS);
        } else {
            Map<String, String> ids = new HashMap<>();
            Map<String, String> spiffeIds = new HashMap<>();
            for (int i = 0; i < list.size(); i++) {
                String path = "registrations[" + i + "]";
                Optional<Registration> r = registration(list.get(i), path, trustDomain, problems);
                if (r.isEmpty()) {
                    continue;
                }
                String prevId = ids.putIfAbsent(r.get().id(), path);
                if (prevId != null) {
                    problems.add(path + ".id: duplicate registration id '" + r.get().id() + "' (also " + prevId + ")");
                }
                String prevSpiffe = spiffeIds.putIfAbsent(r.get().spiffeId(), path);
                if (prevSpiffe != null) {
                    problems.add(path + ".spiffeId: " + r.get().spiffeId() + " is already granted by " + prevSpiffe
                            + "; one registration per SPIFFE ID");
                }
                out.add(r.get());
            }
        }
        if (!problems.isEmpty()) {
            throw new RegistrationValidationException(sourceName, problems);
        }
        return List.copyOf(out);
    }

    /** Writes registrations in the document format; {@link #parse} reads the result back to equal ones. */
    public static String toYaml(List<Registration> registrations) {
        List<Map<String, Object>> list = new ArrayList<>();
        for (Registration r : registrations) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", r.id());
            m.put("version", r.version());
            m.put("spiffeId", r.spiffeId());
            m.put("policies", r.policies());
            Map<String, Object> sel = new LinkedHashMap<>();
            r.kubernetes().ifPresent(k -> sel.put("kubernetes", Map.of("namespace", k.namespace(),
                    "serviceAccount", k.serviceAccount())));
            r.nodeIdPattern().ifPresent(p -> sel.put("nodeId", p));
            if (!sel.isEmpty()) {
                m.put("selectors", sel);
            }
            r.maxInstances().ifPresent(n -> m.put("maxInstances", n));
            list.add(m);
        }
        try {
            return MAPPER.writeValueAsString(Map.of("registrations", list));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("registration YAML serialization failed", e);
        }
    }

    private static Optional<Registration> registration(JsonNode n, String path, String trustDomain,
            List<String> problems) {
        if (!n.isObject()) {
            problems.add(path + ": must be a mapping");
            return Optional.empty();
        }
        int before = problems.size();
        unknownFields(n, path + ".", FIELDS, problems);
        String id = text(n, "id", path, problems);
        if (id != null && !Registration.ID.matcher(id).matches()) {
            problems.add(path + ".id: '" + bounded(id) + "' must match " + Registration.ID.pattern());
        }
        long version = 1;
        JsonNode vn = n.get("version");
        if (vn != null) {
            if (!vn.canConvertToExactIntegral() || !vn.canConvertToLong() || vn.asLong() < 1) {
                problems.add(path + ".version: must be an integer >= 1");
            } else {
                version = vn.asLong();
            }
        }
        String spiffe = text(n, "spiffeId", path, problems);
        Optional<SpiffeId> parsed = Optional.empty();
        if (spiffe != null) {
            parsed = spiffeId(spiffe, path + ".spiffeId", trustDomain, problems);
        }
        List<String> policies = new ArrayList<>();
        JsonNode pn = n.get("policies");
        if (pn == null || !pn.isArray() || pn.isEmpty()) {
            problems.add(path + ".policies: required, a list of 1-" + MAX_POLICIES + " policy IDs");
        } else if (pn.size() > MAX_POLICIES) {
            problems.add(path + ".policies: " + pn.size() + " entries, more than the limit of " + MAX_POLICIES);
        } else {
            Set<String> seen = new LinkedHashSet<>();
            for (int i = 0; i < pn.size(); i++) {
                JsonNode p = pn.get(i);
                if (!p.isTextual() || !Policy.ID.matcher(p.asText()).matches()) {
                    problems.add(path + ".policies[" + i + "]: must be a policy ID matching " + Policy.ID.pattern());
                } else if (!seen.add(p.asText())) {
                    problems.add(path + ".policies[" + i + "]: '" + p.asText() + "' is listed twice");
                }
            }
            policies.addAll(seen);
        }
        Optional<Registration.KubernetesSelector> k8s = Optional.empty();
        Optional<String> nodeGlob = Optional.empty();
        JsonNode sel = n.get("selectors");
        if (sel != null) {
            if (!sel.isObject()) {
                problems.add(path + ".selectors: must be a mapping");
            } else {
                unknownFields(sel, path + ".selectors.", SELECTOR_FIELDS, problems);
                JsonNode kn = sel.get("kubernetes");
                if (kn != null) {
                    k8s = kubernetes(kn, path + ".selectors.kubernetes", problems);
                }
                JsonNode nn = sel.get("nodeId");
                if (nn != null) {
                    if (!nn.isTextual() || !NODE_GLOB.matcher(nn.asText()).matches()) {
                        problems.add(path + ".selectors.nodeId: must be a glob of 1-128 characters from "
                                + "A-Z a-z 0-9 . _ - and *");
                    } else {
                        nodeGlob = Optional.of(nn.asText());
                    }
                }
            }
        }
        OptionalInt max = OptionalInt.empty();
        JsonNode mn = n.get("maxInstances");
        if (mn != null) {
            if (!mn.canConvertToExactIntegral() || !mn.canConvertToInt() || mn.asInt() < 1 || mn.asInt() > MAX_INSTANCES) {
                problems.add(path + ".maxInstances: must be an integer from 1 to " + MAX_INSTANCES);
            } else {
                max = OptionalInt.of(mn.asInt());
            }
        }
        if (parsed.isPresent()) {
            java.util.regex.Matcher istio = ISTIO_PATH.matcher(parsed.get().path());
            if (istio.matches()) {
                String ns = istio.group(1);
                String sa = istio.group(2);
                if (k8s.isEmpty() || !k8s.get().namespace().equals(ns) || !k8s.get().serviceAccount().equals(sa)) {
                    problems.add(path + ".selectors.kubernetes: the SPIFFE ID names Kubernetes namespace '" + ns
                            + "' and service account '" + sa + "', so the registration must require a token for "
                            + "exactly those (selectors: {kubernetes: {namespace: " + ns + ", serviceAccount: " + sa
                            + "}})");
                }
            }
        }
        if (problems.size() != before) {
            return Optional.empty();
        }
        return Optional.of(new Registration(id, version, spiffe, policies, k8s, nodeGlob, max));
    }

    private static Optional<SpiffeId> spiffeId(String s, String path, String trustDomain, List<String> problems) {
        String placeholder = Registration.NODE_ID_PLACEHOLDER;
        int first = s.indexOf(placeholder);
        if (first >= 0 && s.indexOf(placeholder, first + 1) >= 0) {
            problems.add(path + ": " + placeholder + " may appear only once");
            return Optional.empty();
        }
        if (first >= 0 && !(s.charAt(first - 1) == '/'
                && (first + placeholder.length() == s.length() || s.charAt(first + placeholder.length()) == '/'))) {
            problems.add(path + ": " + placeholder + " must be a whole path segment (/.../" + placeholder + "/...)");
            return Optional.empty();
        }
        SpiffeId id;
        try {
            id = SpiffeId.parse(s.replace(placeholder, "node"));
        } catch (IllegalArgumentException e) {
            problems.add(path + ": " + UntrustedText.fit(e.getMessage(), 300)); // quotes its input safely itself
            return Optional.empty();
        }
        if (!id.trustDomain().equals(trustDomain)) {
            problems.add(path + ": trust domain '" + id.trustDomain() + "' is not this control plane's ('"
                    + trustDomain + "')");
            return Optional.empty();
        }
        if (ReservedIdentities.isReserved(id)) {
            problems.add(path + ": paths under " + ReservedIdentities.PREFIX + "/ are reserved for AttestMesh's own "
                    + "components (control plane, replicas, admins) and cannot be granted by a registration");
            return Optional.empty();
        }
        return Optional.of(id);
    }

    private static Optional<Registration.KubernetesSelector> kubernetes(JsonNode kn, String path, List<String> problems) {
        if (!kn.isObject()) {
            problems.add(path + ": must be a mapping with namespace and serviceAccount");
            return Optional.empty();
        }
        unknownFields(kn, path + ".", K8S_FIELDS, problems);
        String ns = text(kn, "namespace", path, problems);
        String sa = text(kn, "serviceAccount", path, problems);
        boolean ok = ns != null && sa != null;
        if (ns != null && !DNS_LABEL.matcher(ns).matches()) {
            problems.add(path + ".namespace: '" + bounded(ns) + "' must be a DNS label (a-z 0-9 -, at most 63)");
            ok = false;
        }
        if (sa != null && !DNS_SUBDOMAIN.matcher(sa).matches()) {
            problems.add(path + ".serviceAccount: '" + bounded(sa) + "' must be a DNS subdomain (at most 253)");
            ok = false;
        }
        return ok ? Optional.of(new Registration.KubernetesSelector(ns, sa)) : Optional.empty();
    }

    private static String text(JsonNode n, String field, String path, List<String> problems) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual() || v.asText().isEmpty()) {
            problems.add(path + "." + field + ": required string");
            return null;
        }
        if (v.asText().length() > 2048) {
            problems.add(path + "." + field + ": longer than 2048 characters");
            return null;
        }
        return v.asText();
    }

    private static void unknownFields(JsonNode n, String prefix, Set<String> known, List<String> problems) {
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!known.contains(f)) {
                problems.add(prefix + bounded(f) + ": unknown field (expected one of " + new java.util.TreeSet<>(known) + ")");
            }
        }
    }

    /** Caller text in messages: {@link UntrustedText#forLog(String, int)}, at most 100 characters. */
    static String bounded(String s) {
        return UntrustedText.forLog(s == null ? "" : s, 100);
    }
}
