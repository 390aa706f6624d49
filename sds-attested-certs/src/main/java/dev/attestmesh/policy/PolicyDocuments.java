package dev.attestmesh.policy;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.attestmesh.input.UntrustedText;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.trustee.EarStatus;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and writes policy documents (YAML, or JSON, which is YAML too). Parsing validates
 * everything and reports every problem with its location, rather than stopping at the first.
 *
 * <h2>Format</h2>
 *
 * <pre>
 * policies:
 *   - id: production               # required; [a-z0-9][a-z0-9._-]{0,62}, unique in the document
 *     version: 1                   # optional, default 1 (the control plane bumps it on change)
 *     tee: [tdx, snp]              # required; any of sgx, tdx, snp, az-snp-vtpm, sim. sim must be listed to
 *                                  # accept simulated (insecure) evidence
 *     tcbStatus: [UpToDate]        # optional, default [UpToDate]; Intel spellings: UpToDate,
 *                                  # SWHardeningNeeded, ConfigurationNeeded,
 *                                  # ConfigurationAndSWHardeningNeeded, OutOfDate,
 *                                  # OutOfDateConfigurationNeeded, Revoked
 *     advisoryIds: [INTEL-SA-00615] # optional, default []: advisory IDs tolerated on the TCB level
 *     debug: false                 # optional, default false: accept debug-mode TEEs
 *     maxEvidenceAge: 24h          # optional, default 24h; units d, h, m, s (e.g. 1h30m) or ISO-8601
 *     certificateTtl: 1h           # optional, default 1h
 *     sealing: false               # optional, default false: an HPKE key pair for `attestmesh seal`, its
 *                                  # private key released only to nodes satisfying this policy
 *     verifier: local              # optional, default local; trustee: a Trustee attestation service
 *                                  # appraises the evidence (docs/trustee.md), then also:
 *     asAddr: https://as.example   #   required with trustee; a service configured on the control plane
 *     policyIds: [default]         #   required with trustee; the AS policy IDs to evaluate
 *     earStatus: [affirming]       #   optional, default [affirming]; none, affirming, warning (never
 *                                  #   contraindicated). tcbStatus and advisoryIds do not apply
 *     reference:                   # optional; one entry per TEE type listed in tee
 *       tdx:
 *         mrtd: ["&lt;96 hex&gt;"]       # byte claim: list of allowed values (any one matches)
 *         rtmr0: ["&lt;96 hex&gt;"]
 *         minimum:
 *           tee_tcb_svn: "&lt;32 hex&gt;" # compared byte by byte (component-wise)
 *         masked:
 *           td_attributes: {expected: 0x0, mask: 0x10000000}   # (value &amp; mask) == (expected &amp; mask)
 *       snp:
 *         measurement: ["&lt;96 hex&gt;"]
 *         minimum: {reported_tcb.snp: 8, guest_svn: 1}        # integer claims: value &gt;= minimum
 *         masked: {policy: {expected: 0x30000, mask: 0x1f0000}}
 *         minimumTcb: {bootloader: 10, tee: 0, snp: 23, microcode: 84}  # reported and committed TCB
 *       sgx:
 *         mrsigner: ["&lt;64 hex&gt;"]
 *         isvprodid: [1]           # integer claim: list of allowed values
 *         minimum: {isvsvn: 2}
 *       az-snp-vtpm:               # Azure confidential VM: the SNP claims plus the vTPM's PCRs
 *         measurement: ["&lt;96 hex&gt;"]
 *         pcrs: {0: ["&lt;64 hex&gt;"], 7: ["&lt;64 hex&gt;"]}  # PCR index to allowed SHA-256 values (= pcr00, pcr07)
 *       sim:
 *         measurement: ["&lt;96 hex&gt;"]
 * </pre>
 *
 * Byte claims and their lengths: sgx {@code mrenclave, mrsigner} (32), {@code configid} (64),
 * {@code cpusvn, attributes} (16); tdx {@code mrtd, rtmr0..rtmr3, mrseam, mrsignerseam, mrconfigid,
 * mrowner, mrownerconfig, mrservicetd} (48), {@code tee_tcb_svn, tee_tcb_svn2} (16); snp {@code
 * measurement, id_key_digest, author_key_digest} (48), {@code host_data, report_id, report_id_ma}
 * (32), {@code chip_id} (64), {@code family_id, image_id} (16); sim {@code measurement} (48). Hex may
 * be upper or lower case and is stored lower case; values must have the claim's exact length.
 * Masked claims: tdx {@code td_attributes, xfam}, snp {@code policy, platform_info}; values are
 * 64-bit integers (decimal or {@code 0x} hex), and byte-valued claims are read little-endian.
 * Integer claims (e.g. sgx {@code isvprodid, isvsvn, pcesvn}; snp {@code guest_svn, vmpl,
 * reported_tcb.bootloader, reported_tcb.tee, reported_tcb.snp, reported_tcb.microcode}) take a list
 * of allowed integers or a {@code minimum}; their names are lower case with dot-separated parts, as
 * the verifier reports them (e.g. {@code
 * reported_tcb.microcode}). Unknown fields anywhere are errors.
 */
public final class PolicyDocuments {
    /** Largest policy file read, in bytes (admin API bodies are limited to 1 MiB by the server). */
    public static final int MAX_FILE_BYTES = 4 * 1024 * 1024;
    private static final Set<String> DOC_FIELDS = Set.of("policies");
    private static final Set<String> POLICY_FIELDS = Set.of("id", "version", "tee", "tcbStatus", "advisoryIds", "debug",
            "maxEvidenceAge", "certificateTtl", "reference", "sealing", "verifier", "asAddr", "policyIds", "earStatus");
    private static final Set<String> MASK_FIELDS = Set.of("expected", "mask");
    private static final Pattern HEX = Pattern.compile("[0-9a-fA-F]*");
    private static final Pattern ADVISORY = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final Pattern SHORT_DURATION = Pattern.compile("(?:(\\d+)d)?(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+)s)?");
    private static final BigInteger TWO_64 = BigInteger.ONE.shiftLeft(64);
    private static final YAMLMapper MAPPER = YAMLMapper.builder(YAMLFactory.builder()
                    .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER).build())
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION).build();

    private PolicyDocuments() {}

    /** Reads and validates a policy file of at most {@value #MAX_FILE_BYTES} bytes. */
    public static List<Policy> load(Path file) throws PolicyValidationException {
        String text;
        try {
            if (Files.size(file) > MAX_FILE_BYTES) {
                throw new PolicyValidationException(file.toString(), List.of("file is " + Files.size(file)
                        + " bytes, larger than the limit of " + MAX_FILE_BYTES + " bytes"));
            }
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new PolicyValidationException(file.toString(), List.of("file is not valid UTF-8 text"));
        } catch (IOException e) {
            throw new PolicyValidationException(file.toString(), List.of("cannot read file: " + e.getMessage()));
        }
        return parse(text, file.toString());
    }

    /**
     * Parses and validates a policy document.
     *
     * @param sourceName names the document in the exception message (a file name, "admin API", ...)
     * @throws PolicyValidationException listing every problem found
     */
    public static List<Policy> parse(String text, String sourceName) throws PolicyValidationException {
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : "line " + e.getLocation().getLineNr() + ": ";
            throw new PolicyValidationException(sourceName, List.of(where + "not valid YAML/JSON: "
                    + UntrustedText.forLog(e.getOriginalMessage(), 300)));
        }
        List<String> problems = new ArrayList<>();
        List<Policy> out = new ArrayList<>();
        if (root == null || root.isMissingNode() || !root.isObject()) {
            throw new PolicyValidationException(sourceName, List.of("document must be a mapping with a 'policies' list"));
        }
        unknownFields(root, "", DOC_FIELDS, problems);
        JsonNode list = root.get("policies");
        if (list == null || !list.isArray()) {
            problems.add("policies: required, must be a list");
        } else {
            Set<String> ids = new HashSet<>();
            for (int i = 0; i < list.size(); i++) {
                String path = "policies[" + i + "]";
                JsonNode idNode = list.get(i).get("id");
                if (idNode != null && idNode.isTextual() && !ids.add(idNode.asText())) {
                    problems.add(path + ".id: duplicate policy id '" + UntrustedText.forLog(idNode.asText()) + "'");
                }
                policy(list.get(i), path, problems).ifPresent(out::add);
            }
        }
        if (!problems.isEmpty()) {
            throw new PolicyValidationException(sourceName, problems);
        }
        return List.copyOf(out);
    }

    /** Writes policies in the document format above; {@link #parse} reads the result back to equal policies. */
    public static String toYaml(List<Policy> policies) {
        List<Map<String, Object>> list = new ArrayList<>();
        for (Policy p : policies) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", p.id());
            m.put("version", p.version());
            m.put("tee", p.tees().stream().map(TeeType::wireName).toList());
            m.put("tcbStatus", p.acceptedTcbStatuses().stream().map(TcbStatus::intelName).toList());
            m.put("advisoryIds", List.copyOf(p.acceptedAdvisoryIds()));
            m.put("debug", p.allowDebug());
            m.put("maxEvidenceAge", formatDuration(p.maxEvidenceAge()));
            m.put("certificateTtl", formatDuration(p.certificateTtl()));
            if (p.sealing()) {
                m.put("sealing", true); // absent when false: the canonical form of older policies is unchanged
            }
            p.delegated().ifPresent(d -> {
                m.remove("tcbStatus");
                m.remove("advisoryIds");
                m.put("verifier", "trustee");
                m.put("asAddr", d.asAddr().toString());
                m.put("policyIds", d.policyIds());
                m.put("earStatus", d.acceptedStatuses().stream().map(EarStatus::wireName).toList());
            });
            Map<String, Object> ref = new LinkedHashMap<>();
            p.reference().forEach((tee, rv) -> {
                Map<String, Object> r = new LinkedHashMap<>();
                rv.allowedValues().forEach((k, v) -> r.put(k, List.copyOf(v)));
                rv.allowedNumbers().forEach((k, v) -> r.put(k, List.copyOf(v)));
                Map<String, Object> min = new LinkedHashMap<>(rv.minimums());
                rv.minimumTeeTcbSvn().ifPresent(s -> min.put("tee_tcb_svn", s));
                if (!min.isEmpty()) {
                    r.put("minimum", min);
                }
                if (!rv.masked().isEmpty()) {
                    Map<String, Object> masked = new LinkedHashMap<>();
                    rv.masked().forEach((k, v) -> masked.put(k, Map.of("expected", MaskedValue.hex(v.expected()),
                            "mask", MaskedValue.hex(v.mask()))));
                    r.put("masked", masked);
                }
                ref.put(tee.wireName(), r);
            });
            if (!ref.isEmpty()) {
                m.put("reference", ref);
            }
            list.add(m);
        }
        try {
            return MAPPER.writeValueAsString(Map.of("policies", list));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("policy YAML serialization failed", e);
        }
    }

    private static Optional<Policy> policy(JsonNode n, String path, List<String> problems) {
        if (!n.isObject()) {
            problems.add(path + ": must be a mapping");
            return Optional.empty();
        }
        int before = problems.size();
        unknownFields(n, path + ".", POLICY_FIELDS, problems);
        String id = null;
        JsonNode idNode = n.get("id");
        if (idNode == null || !idNode.isTextual()) {
            problems.add(path + ".id: required string");
        } else if (!Policy.ID.matcher(idNode.asText()).matches()) {
            problems.add(path + ".id: '" + UntrustedText.forLog(idNode.asText()) + "' must match " + Policy.ID.pattern()
                    + " (1-63 characters)");
        } else {
            id = idNode.asText();
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
        Set<TeeType> tees = EnumSet.noneOf(TeeType.class);
        JsonNode teeNode = n.get("tee");
        if (teeNode == null) {
            problems.add(path + ".tee: required list of TEE types (sgx, tdx, snp, az-snp-vtpm, sim)");
        } else {
            for (var e : stringList(teeNode, path + ".tee", problems)) {
                try {
                    tees.add(TeeType.fromWireName(e.value()));
                } catch (IllegalArgumentException ex) {
                    problems.add(e.path() + ": " + unknownTee(e.value()));
                }
            }
            if (teeNode.isArray() && teeNode.isEmpty()) {
                problems.add(path + ".tee: must list at least one TEE type");
            }
        }
        Set<TcbStatus> statuses = EnumSet.of(TcbStatus.UP_TO_DATE);
        if (n.has("tcbStatus")) {
            statuses = EnumSet.noneOf(TcbStatus.class);
            for (var e : stringList(n.get("tcbStatus"), path + ".tcbStatus", problems)) {
                try {
                    statuses.add(TcbStatus.fromIntelName(e.value()));
                } catch (IllegalArgumentException ex) {
                    problems.add(e.path() + ": unknown TCB status '" + UntrustedText.forLog(e.value()) + "'; use Intel's spelling, e.g. UpToDate");
                }
            }
            if (n.get("tcbStatus").isArray() && n.get("tcbStatus").isEmpty()) {
                problems.add(path + ".tcbStatus: must list at least one status");
            }
        }
        Set<String> advisories = new TreeSet<>();
        if (n.has("advisoryIds")) {
            for (var e : stringList(n.get("advisoryIds"), path + ".advisoryIds", problems)) {
                if (!ADVISORY.matcher(e.value()).matches()) {
                    problems.add(e.path() + ": '" + UntrustedText.forLog(e.value()) + "' is not an advisory ID such as INTEL-SA-00615");
                } else {
                    advisories.add(e.value());
                }
            }
        }
        boolean debug = false;
        JsonNode dn = n.get("debug");
        if (dn != null) {
            if (!dn.isBoolean()) {
                problems.add(path + ".debug: must be true or false");
            } else {
                debug = dn.asBoolean();
            }
        }
        boolean sealing = false;
        JsonNode sn = n.get("sealing");
        if (sn != null) {
            if (!sn.isBoolean()) {
                problems.add(path + ".sealing: must be true or false");
            } else {
                sealing = sn.asBoolean();
            }
        }
        Duration maxAge = duration(n.get("maxEvidenceAge"), path + ".maxEvidenceAge", Policy.DEFAULT_MAX_EVIDENCE_AGE, problems);
        Duration ttl = duration(n.get("certificateTtl"), path + ".certificateTtl", Policy.DEFAULT_CERTIFICATE_TTL, problems);
        Map<TeeType, ReferenceValues> reference = new EnumMap<>(TeeType.class);
        JsonNode rn = n.get("reference");
        if (rn != null) {
            if (!rn.isObject()) {
                problems.add(path + ".reference: must be a mapping of TEE type to reference values");
            } else {
                for (Iterator<String> it = rn.fieldNames(); it.hasNext(); ) {
                    String teeName = it.next();
                    String rpath = path + ".reference." + UntrustedText.forLog(teeName, 16);
                    TeeType tee;
                    try {
                        tee = TeeType.fromWireName(teeName);
                    } catch (IllegalArgumentException ex) {
                        problems.add(rpath + ": " + unknownTee(teeName));
                        continue;
                    }
                    if (!teeName.equals(tee.wireName())) {
                        problems.add(rpath + ": write the TEE type in lower case ('" + tee.wireName() + "')");
                        continue;
                    }
                    if (!tees.contains(tee) && teeNode != null) {
                        problems.add(rpath + ": reference values for " + teeName + " but tee does not list it");
                    }
                    referenceValues(rn.get(teeName), rpath, tee, problems).ifPresent(r -> reference.put(tee, r));
                }
            }
        }
        Optional<DelegatedVerifier> delegated = delegated(n, path, problems);
        if (problems.size() != before || id == null) {
            return Optional.empty();
        }
        return Optional.of(new Policy(id, version, tees, statuses, advisories, debug, reference, maxAge, ttl, sealing,
                delegated));
    }

    /** {@code verifier}, and with {@code trustee} its {@code asAddr}, {@code policyIds} and {@code earStatus}. */
    private static Optional<DelegatedVerifier> delegated(JsonNode n, String path, List<String> problems) {
        JsonNode vn = n.get("verifier");
        boolean trustee = false;
        if (vn != null) {
            if (!vn.isTextual() || !(vn.asText().equals("local") || vn.asText().equals("trustee"))) {
                problems.add(path + ".verifier: must be local or trustee");
                return Optional.empty();
            }
            trustee = vn.asText().equals("trustee");
        }
        if (!trustee) {
            for (String f : List.of("asAddr", "policyIds", "earStatus")) {
                if (n.has(f)) {
                    problems.add(path + "." + f + ": applies only with verifier: trustee");
                }
            }
            return Optional.empty();
        }
        int before = problems.size();
        for (String f : List.of("tcbStatus", "advisoryIds")) {
            if (n.has(f)) {
                problems.add(path + "." + f + ": does not apply with verifier: trustee (the attestation service "
                        + "appraises the TCB: use earStatus and reference ear.tv.hardware)");
            }
        }
        java.net.URI addr = null;
        JsonNode an = n.get("asAddr");
        if (an == null || !an.isTextual()) {
            problems.add(path + ".asAddr: required with verifier: trustee, the attestation service's https URL");
        } else {
            try {
                addr = new java.net.URI(an.asText());
                Optional<String> problem = DelegatedVerifier.problemWithAddress(addr);
                if (problem.isPresent()) {
                    problems.add(path + ".asAddr: " + problem.get());
                    addr = null;
                }
            } catch (java.net.URISyntaxException e) {
                problems.add(path + ".asAddr: '" + UntrustedText.forLog(an.asText(), 80) + "' is not a URL");
            }
        }
        List<String> ids = new ArrayList<>();
        JsonNode pn = n.get("policyIds");
        if (pn == null) {
            problems.add(path + ".policyIds: required with verifier: trustee, the attestation service's policy IDs");
        } else {
            for (var e : stringList(pn, path + ".policyIds", problems)) {
                if (!DelegatedVerifier.AS_POLICY_ID.matcher(e.value()).matches()) {
                    problems.add(e.path() + ": '" + UntrustedText.forLog(e.value(), 64) + "' must match "
                            + DelegatedVerifier.AS_POLICY_ID.pattern());
                } else if (ids.contains(e.value())) {
                    problems.add(e.path() + ": duplicate AS policy ID '" + e.value() + "'");
                } else {
                    ids.add(e.value());
                }
            }
            if (pn.isArray() && (pn.isEmpty() || pn.size() > DelegatedVerifier.MAX_POLICY_IDS)) {
                problems.add(path + ".policyIds: must list 1 to " + DelegatedVerifier.MAX_POLICY_IDS + " policy IDs");
            }
        }
        Set<EarStatus> statuses = DelegatedVerifier.defaultStatuses();
        JsonNode sn = n.get("earStatus");
        if (sn != null) {
            statuses = EnumSet.noneOf(EarStatus.class);
            for (var e : stringList(sn, path + ".earStatus", problems)) {
                Optional<EarStatus> st = EarStatus.fromWireName(e.value());
                if (st.isEmpty()) {
                    problems.add(e.path() + ": unknown EAR status '" + UntrustedText.forLog(e.value(), 32)
                            + "'; one of none, affirming, warning");
                } else if (st.get() == EarStatus.CONTRAINDICATED) {
                    problems.add(e.path() + ": contraindicated is always refused and cannot be accepted");
                } else {
                    statuses.add(st.get());
                }
            }
            if (sn.isArray() && sn.isEmpty()) {
                problems.add(path + ".earStatus: must list at least one status");
            }
        }
        if (problems.size() != before) {
            return Optional.empty();
        }
        return Optional.of(new DelegatedVerifier(addr, ids, statuses));
    }

    private static Optional<ReferenceValues> referenceValues(JsonNode n, String path, TeeType tee, List<String> problems) {
        if (!n.isObject()) {
            problems.add(path + ": must be a mapping of claim name to values");
            return Optional.empty();
        }
        Map<String, Integer> byteClaims = ClaimCatalog.byteClaims(tee);
        Map<String, Set<String>> allowed = new LinkedHashMap<>();
        Map<String, Set<Long>> numbers = new LinkedHashMap<>();
        Map<String, Long> minimums = new LinkedHashMap<>();
        Map<String, MaskedValue> masked = new LinkedHashMap<>();
        Optional<String> teeTcbSvn = Optional.empty();
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String claim = it.next();
            JsonNode v = n.get(claim);
            String cpath = path + "." + claim;
            switch (claim) {
                case "minimum" -> {
                    if (!v.isObject()) {
                        problems.add(cpath + ": must be a mapping of claim name to minimum");
                        continue;
                    }
                    for (Iterator<String> mi = v.fieldNames(); mi.hasNext(); ) {
                        String name = mi.next();
                        String mpath = cpath + "." + name;
                        if (name.equals("tee_tcb_svn") && tee == TeeType.TDX) {
                            JsonNode s = v.get(name);
                            if (!s.isTextual()) {
                                problems.add(mpath + ": must be a string of " + 2 * ClaimCatalog.TEE_TCB_SVN_BYTES + " hex digits");
                            } else {
                                teeTcbSvn = hexValue(s.asText(), ClaimCatalog.TEE_TCB_SVN_BYTES, mpath, problems);
                            }
                        } else if (byteClaims.containsKey(name)) {
                            problems.add(mpath + ": " + name + " is a byte-string claim; list allowed values instead of a minimum");
                        } else if (!ClaimCatalog.NUMBER_CLAIM.matcher(name).matches()) {
                            problems.add(mpath + ": '" + name + "' is not an integer claim name (lower case, dot-separated)");
                        } else {
                            unsigned(v.get(name), mpath, false, problems).ifPresent(m -> minimums.put(name, m));
                        }
                    }
                }
                case "pcrs" -> {
                    // Sugar for the byte claims pcr00..pcr23: {7: [hex, ...]} is reference.pcr07.
                    if (!byteClaims.containsKey(ClaimCatalog.pcrClaim(0))) {
                        problems.add(cpath + ": " + tee.wireName() + " evidence carries no PCRs (only az-snp-vtpm does)");
                        continue;
                    }
                    if (!v.isObject()) {
                        problems.add(cpath + ": must be a mapping of PCR index (0-" + (ClaimCatalog.PCR_COUNT - 1)
                                + ") to a list of allowed SHA-256 values");
                        continue;
                    }
                    for (Iterator<String> pi = v.fieldNames(); pi.hasNext(); ) {
                        String index = pi.next();
                        String ppath = cpath + "." + UntrustedText.forLog(index, 8);
                        if (!index.matches("[0-9]{1,2}") || Integer.parseInt(index) >= ClaimCatalog.PCR_COUNT) {
                            problems.add(ppath + ": PCR index must be 0 to " + (ClaimCatalog.PCR_COUNT - 1));
                            continue;
                        }
                        String name = ClaimCatalog.pcrClaim(Integer.parseInt(index));
                        if (allowed.containsKey(name)) {
                            problems.add(ppath + ": " + name + " is given twice (also as a claim)");
                            continue;
                        }
                        allowedHex(v.get(index), ppath, 32, problems).ifPresent(values -> allowed.put(name, values));
                    }
                }
                case "minimumTcb" -> {
                    // Minimum SEV-SNP component SPLs: each must hold for the reported and the committed TCB.
                    if (!ClaimCatalog.SNP_TCB_TEES.contains(tee)) {
                        problems.add(cpath + ": only snp and az-snp-vtpm evidence carries SEV-SNP TCB versions");
                        continue;
                    }
                    if (!v.isObject()) {
                        problems.add(cpath + ": must be a mapping of component (" + new TreeSet<>(ClaimCatalog.SNP_TCB_COMPONENTS)
                                + ") to its minimum security patch level");
                        continue;
                    }
                    for (Iterator<String> ci = v.fieldNames(); ci.hasNext(); ) {
                        String component = ci.next();
                        String tpath = cpath + "." + UntrustedText.forLog(component, 16);
                        if (!ClaimCatalog.SNP_TCB_COMPONENTS.contains(component)) {
                            problems.add(tpath + ": unknown SEV-SNP TCB component; known: "
                                    + new TreeSet<>(ClaimCatalog.SNP_TCB_COMPONENTS));
                            continue;
                        }
                        Optional<Long> min = unsigned(v.get(component), tpath, false, problems);
                        if (min.isPresent() && min.get() > 255) {
                            problems.add(tpath + ": an SNP security patch level is one byte (0-255)");
                            continue;
                        }
                        min.ifPresent(m -> {
                            minimums.merge("reported_tcb." + component, m, Math::max);
                            minimums.merge("committed_tcb." + component, m, Math::max);
                        });
                    }
                }
                case "masked" -> {
                    if (!v.isObject()) {
                        problems.add(cpath + ": must be a mapping of claim name to {expected, mask}");
                        continue;
                    }
                    for (Iterator<String> mi = v.fieldNames(); mi.hasNext(); ) {
                        String name = mi.next();
                        String mpath = cpath + "." + name;
                        JsonNode mv = v.get(name);
                        if (!ClaimCatalog.MASKED_CLAIMS.getOrDefault(tee, Set.of()).contains(name)) {
                            problems.add(mpath + ": no masked claim '" + name + "' for " + tee.wireName() + "; known: "
                                    + new TreeSet<>(ClaimCatalog.MASKED_CLAIMS.get(tee)));
                            continue;
                        }
                        if (!mv.isObject() || !mv.has("expected") || !mv.has("mask")) {
                            problems.add(mpath + ": must be {expected: <integer>, mask: <integer>}");
                            continue;
                        }
                        unknownFields(mv, mpath + ".", MASK_FIELDS, problems);
                        Optional<Long> e = unsigned(mv.get("expected"), mpath + ".expected", true, problems);
                        Optional<Long> m = unsigned(mv.get("mask"), mpath + ".mask", true, problems);
                        if (e.isPresent() && m.isPresent()) {
                            masked.put(name, new MaskedValue(e.get(), m.get()));
                        }
                    }
                }
                default -> {
                    if (!v.isArray()) {
                        problems.add(cpath + ": must be a list of allowed values");
                        continue;
                    }
                    if (v.isEmpty()) {
                        problems.add(cpath + ": list of allowed values is empty (nothing could match)");
                        continue;
                    }
                    boolean numeric = v.get(0).isIntegralNumber();
                    if (byteClaims.containsKey(claim)) {
                        int len = byteClaims.get(claim);
                        Set<String> values = new LinkedHashSet<>();
                        for (int i = 0; i < v.size(); i++) {
                            JsonNode item = v.get(i);
                            String ipath = cpath + "[" + i + "]";
                            if (!item.isTextual()) {
                                problems.add(ipath + ": must be a string of " + 2 * len + " hex digits");
                            } else {
                                hexValue(item.asText(), len, ipath, problems).ifPresent(values::add);
                            }
                        }
                        allowed.put(claim, values);
                    } else if (numeric && ClaimCatalog.NUMBER_CLAIM.matcher(claim).matches()) {
                        Set<Long> values = new LinkedHashSet<>();
                        for (int i = 0; i < v.size(); i++) {
                            unsigned(v.get(i), cpath + "[" + i + "]", false, problems).ifPresent(values::add);
                        }
                        numbers.put(claim, values);
                    } else {
                        problems.add(cpath + ": unknown byte-string claim '" + claim + "' for " + tee.wireName()
                                + "; known: " + new TreeSet<>(byteClaims.keySet())
                                + " (integer claims take a list of integers; use 'minimum' and 'masked' for ranges and bits)");
                    }
                }
            }
        }
        return Optional.of(new ReferenceValues(allowed, numbers, minimums, masked, teeTcbSvn));
    }

    /** A non-empty list of hex strings of {@code len} bytes each. */
    private static Optional<Set<String>> allowedHex(JsonNode v, String path, int len, List<String> problems) {
        if (v == null || !v.isArray() || v.isEmpty()) {
            problems.add(path + ": must be a non-empty list of " + 2 * len + "-digit hex values");
            return Optional.empty();
        }
        Set<String> values = new LinkedHashSet<>();
        for (int i = 0; i < v.size(); i++) {
            JsonNode item = v.get(i);
            String ipath = path + "[" + i + "]";
            if (!item.isTextual()) {
                problems.add(ipath + ": must be a string of " + 2 * len + " hex digits");
            } else {
                hexValue(item.asText(), len, ipath, problems).ifPresent(values::add);
            }
        }
        return Optional.of(values);
    }

    private record Item(String path, String value) {}

    private static List<Item> stringList(JsonNode n, String path, List<String> problems) {
        List<Item> out = new ArrayList<>();
        if (!n.isArray()) {
            problems.add(path + ": must be a list");
            return out;
        }
        for (int i = 0; i < n.size(); i++) {
            if (!n.get(i).isTextual()) {
                problems.add(path + "[" + i + "]: must be a string");
            } else {
                out.add(new Item(path + "[" + i + "]", n.get(i).asText()));
            }
        }
        return out;
    }

    private static boolean isHex(String s, int bytes) {
        return s.length() == 2 * bytes && HEX.matcher(s).matches();
    }

    private static Optional<String> hexValue(String s, int bytes, String path, List<String> problems) {
        if (!isHex(s, bytes)) {
            problems.add(path + ": not " + 2 * bytes + " hex digits"
                    + (HEX.matcher(s).matches() ? " (got " + s.length() + ")" : " (contains non-hex characters)"));
            return Optional.empty();
        }
        return Optional.of(s.toLowerCase(Locale.ROOT));
    }

    /**
     * An integer in 0..2^63-1, or with {@code full64} the full unsigned 64-bit range (stored as the
     * same bits in a long). Accepts YAML/JSON integers and strings in decimal or {@code 0x} hex.
     */
    private static Optional<Long> unsigned(JsonNode n, String path, boolean full64, List<String> problems) {
        BigInteger v = null;
        if (n != null && n.isIntegralNumber()) {
            v = n.bigIntegerValue();
        } else if (n != null && n.isTextual()) {
            String s = n.asText().trim().replace("_", "");
            try {
                v = s.startsWith("0x") || s.startsWith("0X") ? new BigInteger(s.substring(2), 16) : new BigInteger(s);
            } catch (NumberFormatException e) {
                v = null;
            }
        }
        BigInteger limit = full64 ? TWO_64 : BigInteger.valueOf(Long.MAX_VALUE).add(BigInteger.ONE);
        if (v == null || v.signum() < 0 || v.compareTo(limit) >= 0) {
            problems.add(path + ": must be a non-negative integer" + (full64 ? " below 2^64" : "")
                    + " (decimal or 0x hex)");
            return Optional.empty();
        }
        return Optional.of(v.longValue());
    }

    private static Duration duration(JsonNode n, String path, Duration dflt, List<String> problems) {
        if (n == null) {
            return dflt;
        }
        if (!n.isTextual()) {
            problems.add(path + ": must be a duration such as 1h, 30m, 1h30m, 2d or PT1H");
            return dflt;
        }
        Optional<Duration> d = parseDuration(n.asText());
        if (d.isEmpty() || d.get().isZero()) {
            problems.add(path + ": '" + UntrustedText.forLog(n.asText()) + "' is not a positive duration such as 1h, 30m, 1h30m, 2d or PT1H");
            return dflt;
        }
        return d.get();
    }

    /** Parses {@code 1d2h3m4s}-style (any parts, in that order) or ISO-8601 durations. */
    static Optional<Duration> parseDuration(String text) {
        String s = text.trim();
        if (s.isEmpty()) {
            return Optional.empty();
        }
        if (s.startsWith("P") || s.startsWith("p")) {
            try {
                Duration d = Duration.parse(s);
                return d.isNegative() ? Optional.empty() : Optional.of(d);
            } catch (DateTimeParseException e) {
                return Optional.empty();
            }
        }
        Matcher m = SHORT_DURATION.matcher(s);
        if (!m.matches()) {
            return Optional.empty();
        }
        try {
            Duration d = Duration.ZERO;
            if (m.group(1) != null) {
                d = d.plusDays(Long.parseLong(m.group(1)));
            }
            if (m.group(2) != null) {
                d = d.plusHours(Long.parseLong(m.group(2)));
            }
            if (m.group(3) != null) {
                d = d.plusMinutes(Long.parseLong(m.group(3)));
            }
            if (m.group(4) != null) {
                d = d.plusSeconds(Long.parseLong(m.group(4)));
            }
            return Optional.of(d);
        } catch (NumberFormatException | ArithmeticException e) {
            return Optional.empty();
        }
    }

    /** Formats as {@code 1d2h3m4s}, omitting zero parts; sub-second parts fall back to ISO-8601. */
    static String formatDuration(Duration d) {
        if (d.getNano() != 0) {
            return d.toString();
        }
        long s = d.getSeconds();
        StringBuilder sb = new StringBuilder();
        long days = s / 86_400;
        long hours = s % 86_400 / 3600;
        long minutes = s % 3600 / 60;
        long seconds = s % 60;
        if (days > 0) {
            sb.append(days).append('d');
        }
        if (hours > 0) {
            sb.append(hours).append('h');
        }
        if (minutes > 0) {
            sb.append(minutes).append('m');
        }
        if (seconds > 0 || sb.isEmpty()) {
            sb.append(seconds).append('s');
        }
        return sb.toString();
    }

    /** TeeType's own message, with the caller's text quoted safely. */
    private static String unknownTee(String name) {
        return "unknown TEE type '" + UntrustedText.forLog(name, 32) + "'; expected one of "
                + java.util.Arrays.stream(TeeType.values()).map(TeeType::wireName)
                        .collect(java.util.stream.Collectors.joining(", "));
    }

    private static void unknownFields(JsonNode n, String prefix, Set<String> known, List<String> problems) {
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!known.contains(f)) {
                problems.add(prefix + UntrustedText.forLog(f) + ": unknown field; expected one of " + new TreeSet<>(known));
            }
        }
    }
}
