package dev.attestmesh.relying;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.identity.Registration;
import dev.attestmesh.identity.RegistrationDocuments;
import dev.attestmesh.issuance.Checkpoint;
import dev.attestmesh.issuance.CheckpointVerifier;
import dev.attestmesh.policy.Appraisal;
import dev.attestmesh.policy.Policy;
import dev.attestmesh.policy.PolicyAppraiser;
import dev.attestmesh.policy.PolicyDocuments;
import dev.attestmesh.policy.PolicyResult;
import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.EvidenceVerifier;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a relying party checks before trusting the mesh CA (docs/relying-party.md, "What each check
 * proves"), in order, stopping at the first failure: the statement answers our nonce; the TEE type is
 * acceptable; the manifest is canonical and has the digest claimed (and expected); the evidence verifies;
 * its report data binds SHA-256(manifest) and our nonce; the measurement or policy holds; every document
 * has its manifest digest; the manifest's per-policy and per-registration digests match those documents;
 * the trust bundle chains to the root whose hash the manifest gives; the issuance-log checkpoint is
 * signed by a key that root certified. Only a report whose every check passed carries the trust bundle.
 */
public final class MeshVerification {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Names of the checks, in order. */
    public static final List<String> CHECKS = List.of("statement", "tee", "manifest", "evidence", "report-data-binding",
            "measurement", "documents", "manifest-entries", "trust-bundle", "checkpoint");

    /** A statement as received (untrusted). */
    public record Statement(int version, String tee, byte[] evidence, byte[] nonce, byte[] manifest,
            String manifestSha256) {}

    /** Fetches a document named by the manifest with the given digest. */
    @FunctionalInterface
    public interface DocumentSource {
        byte[] fetch(String name, String manifestSha256) throws IOException;
    }

    /** Builds the verifier for a TEE type, and the collateral supplied for it (files). */
    public interface Verifiers {
        EvidenceVerifier verifier(TeeType tee) throws Exception;

        Optional<byte[]> suppliedCollateral(TeeType tee) throws IOException;
    }

    /** What the relying party expects: exactly one of a measurement or policies. */
    public record Expectations(Optional<String> measurement, List<Policy> policies, Optional<String> manifestSha256,
            boolean allowInsecureSim) {
        public Expectations {
            if (measurement.isPresent() == !policies.isEmpty()) {
                throw new IllegalArgumentException("expect either a measurement or a policy, exactly one");
            }
            policies = List.copyOf(policies);
        }
    }

    /** One check's outcome. */
    public record Check(String name, boolean passed, String detail) {}

    /**
     * The outcome.
     *
     * @param trustBundlePem the verified trust bundle, present only when every check passed
     */
    public record Report(List<Check> checks, boolean insecure, Optional<String> trustBundlePem,
            Optional<String> manifestSha256, Optional<String> caKeySealing, Optional<String> measurement) {
        public boolean verified() {
            return trustBundlePem.isPresent();
        }

        public Optional<Check> firstFailure() {
            return checks.stream().filter(c -> !c.passed()).findFirst();
        }
    }

    private final Verifiers verifiers;
    private final Expectations expect;
    private final Instant now;

    public MeshVerification(Verifiers verifiers, Expectations expect, Instant now) {
        this.verifiers = verifiers;
        this.expect = expect;
        this.now = now;
    }

    private static final class Failed extends Exception {
        Failed(String message) {
            super(message);
        }
    }

    /** Runs every check against a statement received for {@code nonce}. */
    public Report verify(byte[] nonce, Statement st, DocumentSource documents) {
        List<Check> checks = new ArrayList<>();
        State s = new State();
        String current = "statement";
        try {
            checkStatement(nonce, st);
            checks.add(new Check(current, true, "version 2, answers this request's nonce"));
            current = "tee";
            checks.add(new Check(current, true, checkTee(st, s)));
            current = "manifest";
            checks.add(new Check(current, true, checkManifest(st, s)));
            current = "evidence";
            checks.add(new Check(current, true, checkEvidence(st, s)));
            current = "report-data-binding";
            checks.add(new Check(current, true, checkBinding(nonce, st, s)));
            current = "measurement";
            checks.add(new Check(current, true, checkMeasurementOrPolicy(s)));
            current = "documents";
            checks.add(new Check(current, true, checkDocuments(documents, st, s)));
            current = "manifest-entries";
            checks.add(new Check(current, true, checkEntries(s)));
            current = "trust-bundle";
            checks.add(new Check(current, true, checkTrustBundle(s)));
            current = "checkpoint";
            checks.add(new Check(current, true, checkCheckpoint(s)));
        } catch (Failed e) {
            checks.add(new Check(current, false, e.getMessage()));
            return new Report(checks, s.insecure, Optional.empty(), Optional.ofNullable(s.manifestSha256),
                    Optional.ofNullable(s.sealing), Optional.ofNullable(s.measurement));
        }
        return new Report(checks, s.insecure, Optional.of(s.bundlePem), Optional.of(s.manifestSha256),
                Optional.ofNullable(s.sealing), Optional.ofNullable(s.measurement));
    }

    private static final class State {
        boolean insecure;
        TeeType tee;
        JsonNode manifest;
        String manifestSha256;
        String sealing;
        String measurement;
        VerifiedEvidence evidence;
        final Map<String, byte[]> documents = new HashMap<>();
        X509Certificate root;
        String bundlePem;
    }

    private static void checkStatement(byte[] nonce, Statement st) throws Failed {
        if (st.version() != 2) {
            throw new Failed("statement version " + st.version() + " is not 2 (a control plane older than relying-party"
                    + " verification?)");
        }
        if (!MessageDigest.isEqual(nonce, st.nonce())) {
            throw new Failed("the statement answers another nonce (" + HexFormat.of().formatHex(st.nonce())
                    + "), not this request's: a replayed or misdirected statement");
        }
    }

    private String checkTee(Statement st, State s) throws Failed {
        try {
            s.tee = TeeType.fromWireName(st.tee());
        } catch (IllegalArgumentException e) {
            throw new Failed("unknown TEE type '" + dev.attestmesh.input.UntrustedText.forLog(st.tee(), 20) + "'");
        }
        if (s.tee == TeeType.SIM) {
            if (!expect.allowInsecureSim()) {
                throw new Failed("the control plane attests with the SIMULATED TEE (dev mode), whose signing key is "
                        + "public: this proves nothing. Pass --allow-insecure-sim only for development");
            }
            s.insecure = true;
            return "sim, allowed by --allow-insecure-sim: INSECURE, proves nothing";
        }
        return s.tee.wireName();
    }

    private String checkManifest(Statement st, State s) throws Failed {
        String actual = MeshManifest.sha256Hex(st.manifest());
        if (!actual.equals(st.manifestSha256())) {
            throw new Failed("the manifest's SHA-256 is " + actual + " but the statement claims "
                    + dev.attestmesh.input.UntrustedText.forLog(st.manifestSha256(), 70));
        }
        try {
            s.manifest = JSON.readTree(st.manifest());
        } catch (IOException e) {
            throw new Failed("the manifest is not JSON: " + e.getMessage());
        }
        byte[] canonical;
        try {
            canonical = CanonicalJson.encode(CanonicalJson.fromJackson(s.manifest));
        } catch (IllegalArgumentException e) {
            throw new Failed("the manifest is not canonical JSON: " + e.getMessage());
        }
        if (!MessageDigest.isEqual(canonical, st.manifest())) {
            throw new Failed("the manifest is not in canonical form (sorted keys, no whitespace)");
        }
        if (!MeshManifest.FORMAT.equals(s.manifest.path("format").asText())) {
            throw new Failed("the manifest format is '" + dev.attestmesh.input.UntrustedText.forLog(
                    s.manifest.path("format").asText(), 40) + "', expected " + MeshManifest.FORMAT);
        }
        if (expect.manifestSha256().isPresent() && !expect.manifestSha256().get().equalsIgnoreCase(actual)) {
            throw new Failed("the manifest's SHA-256 is " + actual + ", not the expected " + expect.manifestSha256().get());
        }
        s.manifestSha256 = actual;
        s.sealing = s.manifest.path("caKeySealing").asText();
        if (s.manifest.path("insecure").asBoolean(false)) {
            s.insecure = true;
        }
        return "sha256 " + actual + ", canonical" + (expect.manifestSha256().isPresent() ? ", as expected" : "");
    }

    private String checkEvidence(Statement st, State s) throws Failed {
        try {
            s.evidence = verifiers.verifier(s.tee).verify(new VerificationRequest(s.tee, st.evidence(),
                    verifiers.suppliedCollateral(s.tee), now));
        } catch (EvidenceVerificationException e) {
            throw new Failed(s.tee.wireName() + " evidence does not verify (" + e.check() + "): " + e.getMessage());
        } catch (Exception e) {
            throw new Failed("cannot verify " + s.tee.wireName() + " evidence: " + e.getMessage());
        }
        s.measurement = s.evidence.primaryMeasurement();
        return s.tee.wireName() + " evidence verified, TCB " + s.evidence.tcbStatus().intelName()
                + (s.evidence.advisoryIds().isEmpty() ? "" : " " + s.evidence.advisoryIds())
                + (s.evidence.debug() ? ", DEBUG" : "");
    }

    private static String checkBinding(byte[] nonce, Statement st, State s) throws Failed {
        byte[] expected = MeshManifest.reportData(MeshManifest.sha256(st.manifest()), nonce);
        if (!MessageDigest.isEqual(expected, s.evidence.reportData())) {
            throw new Failed("the evidence's report data " + HexFormat.of().formatHex(s.evidence.reportData())
                    + " is not SHA-512(\"" + MeshManifest.REPORT_DATA_DOMAIN + "\" || SHA-256(manifest) || nonce) = "
                    + HexFormat.of().formatHex(expected) + ": it was not produced for this manifest and this request");
        }
        return "report data = SHA-512(\"" + MeshManifest.REPORT_DATA_DOMAIN + "\" || SHA-256(manifest) || nonce)";
    }

    private String checkMeasurementOrPolicy(State s) throws Failed {
        if (expect.measurement().isPresent()) {
            String want = expect.measurement().get().toLowerCase(java.util.Locale.ROOT);
            if (!want.equals(s.measurement)) {
                throw new Failed("measurement is " + s.measurement + ", expected " + want);
            }
            return "measurement " + s.measurement;
        }
        Appraisal a = new PolicyAppraiser().appraise(s.evidence, now, expect.policies(), now);
        for (PolicyResult r : a.results()) {
            if (!r.satisfied()) {
                throw new Failed("policy '" + r.policyId() + "' is not satisfied: " + r.firstFailedRule()
                        .map(Object::toString).orElse("no rule passed"));
            }
        }
        return "satisfies policies " + a.results().stream().map(PolicyResult::policyId).toList();
    }

    private static String checkDocuments(DocumentSource source, Statement st, State s) throws Failed {
        JsonNode digests = s.manifest.path("documents");
        List<String> required = new ArrayList<>(List.of(MeshManifest.TRUST_BUNDLE, MeshManifest.POLICIES,
                MeshManifest.REGISTRATIONS, MeshManifest.MESH_CONFIG));
        if (!s.manifest.path("checkpoint").isNull()) {
            required.add(MeshManifest.CHECKPOINT);
        }
        for (String name : required) {
            String want = digests.path(name).asText("");
            if (!want.matches("[0-9a-f]{64}")) {
                throw new Failed("the manifest gives no SHA-256 for the " + name + " document");
            }
            byte[] doc;
            try {
                doc = source.fetch(name, s.manifestSha256);
            } catch (IOException e) {
                throw new Failed("cannot fetch the " + name + " document: " + e.getMessage());
            }
            String got = MeshManifest.sha256Hex(doc);
            if (!got.equals(want)) {
                throw new Failed("the " + name + " document has SHA-256 " + got + " but the manifest says " + want
                        + ": it was altered after the manifest was made");
            }
            s.documents.put(name, doc);
        }
        return required.size() + " documents match their manifest digests " + required;
    }

    private static String checkEntries(State s) throws Failed {
        List<Policy> policies;
        try {
            policies = PolicyDocuments.parse(text(s, MeshManifest.POLICIES), "policies document");
        } catch (Exception e) {
            throw new Failed("the policies document does not parse: " + e.getMessage());
        }
        Map<String, String> policyDigests = new HashMap<>();
        for (Policy p : policies) {
            policyDigests.put(p.id() + "@" + p.version(), MeshManifest.sha256Hex(PolicyDocuments.toYaml(List.of(p))));
        }
        JsonNode entries = s.manifest.path("policies");
        if (entries.size() != policies.size()) {
            throw new Failed("the manifest lists " + entries.size() + " policies, the document holds " + policies.size());
        }
        for (JsonNode e : entries) {
            String key = e.path("id").asText() + "@" + e.path("version").asLong();
            if (!e.path("sha256").asText().equals(policyDigests.get(key))) {
                throw new Failed("policy " + key + ": the manifest's content digest does not match the policies document");
            }
        }
        List<Registration> regs;
        try {
            regs = RegistrationDocuments.parse(text(s, MeshManifest.REGISTRATIONS), "registrations document",
                    s.manifest.path("trustDomain").asText());
        } catch (Exception e) {
            throw new Failed("the registrations document does not parse: " + e.getMessage());
        }
        Map<String, String> regDigests = new HashMap<>();
        for (Registration r : regs) {
            regDigests.put(r.id() + "@" + r.version(), MeshManifest.sha256Hex(RegistrationDocuments.toYaml(List.of(r))));
        }
        JsonNode rEntries = s.manifest.path("registrations");
        if (rEntries.size() != regs.size()) {
            throw new Failed("the manifest lists " + rEntries.size() + " registrations, the document holds " + regs.size());
        }
        for (JsonNode e : rEntries) {
            String key = e.path("id").asText() + "@" + e.path("version").asLong();
            if (!e.path("sha256").asText().equals(regDigests.get(key))) {
                throw new Failed("registration " + key + ": the manifest's content digest does not match the "
                        + "registrations document");
            }
        }
        if (!MeshManifest.sha256Hex(s.documents.get(MeshManifest.MESH_CONFIG)).equals(
                s.manifest.path("meshConfig").path("sha256").asText())) {
            throw new Failed("the mesh config digest in the manifest does not match the mesh-config document");
        }
        return policies.size() + " policies, " + regs.size() + " registrations and the mesh config (version "
                + s.manifest.path("meshConfig").path("version").asLong() + ") match the manifest";
    }

    private String checkTrustBundle(State s) throws Failed {
        String pem = text(s, MeshManifest.TRUST_BUNDLE);
        List<X509Certificate> bundle;
        try {
            bundle = Pem.parseCertificates(pem);
        } catch (Exception e) {
            throw new Failed("the trust bundle is not PEM certificates: " + e.getMessage());
        }
        String rootHash = s.manifest.path("rootCertificateSha256").asText();
        X509Certificate root = null;
        for (X509Certificate c : bundle) {
            if (sha256(c).equals(rootHash)) {
                root = c;
            }
        }
        if (root == null) {
            throw new Failed("no certificate of the served trust bundle has the root SHA-256 " + rootHash
                    + " the manifest attests: the bundle was substituted");
        }
        try {
            root.verify(root.getPublicKey());
            root.checkValidity(java.util.Date.from(now));
        } catch (Exception e) {
            throw new Failed("the attested root is not a valid self-signed certificate: " + e.getMessage());
        }
        for (X509Certificate c : bundle) {
            if (c == root) {
                continue;
            }
            try {
                c.verify(root.getPublicKey());
            } catch (Exception e) {
                throw new Failed("trust bundle certificate '" + c.getSubjectX500Principal().getName()
                        + "' does not chain to the attested root: " + e.getMessage());
            }
        }
        s.root = root;
        s.bundlePem = pem;
        return bundle.size() + " certificate(s), all issued by the attested root " + rootHash;
    }

    private static String checkCheckpoint(State s) throws Failed {
        JsonNode expected = s.manifest.path("checkpoint");
        if (expected.isNull() || expected.isMissingNode()) {
            return "no issuance log checkpoint signed yet (the manifest says so)";
        }
        try {
            JsonNode doc = JSON.readTree(s.documents.get(MeshManifest.CHECKPOINT));
            X509Certificate signer = Pem.parseCertificate(doc.path("signingCertificate").asText());
            Checkpoint c = CheckpointVerifier.forCertificate(signer, s.root).verify(doc.path("note").asText());
            if (c.size() != expected.path("size").asLong() || !c.headHashHex().equals(expected.path("headHash").asText())
                    || !c.origin().equals(expected.path("origin").asText())) {
                throw new Failed("the signed checkpoint (size " + c.size() + ", head " + c.headHashHex()
                        + ") is not the one the manifest names");
            }
            return "issuance log checkpoint size " + c.size() + " head " + c.headHashHex()
                    + ", signed by a key the attested root certified";
        } catch (Failed e) {
            throw e;
        } catch (Exception e) {
            throw new Failed("the issuance log checkpoint does not verify: " + e.getMessage());
        }
    }

    private static String text(State s, String name) {
        return new String(s.documents.get(name), StandardCharsets.UTF_8);
    }

    private static String sha256(X509Certificate c) {
        try {
            return MeshManifest.sha256Hex(c.getEncoded());
        } catch (Exception e) {
            return "";
        }
    }
}
