package dev.attestmesh.server.relying;

import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.identity.Registration;
import dev.attestmesh.identity.RegistrationDocuments;
import dev.attestmesh.issuance.Checkpoint;
import dev.attestmesh.issuance.LogCheckpointer;
import dev.attestmesh.issuance.StoredCheckpoint;
import dev.attestmesh.policy.Policy;
import dev.attestmesh.policy.PolicyDocuments;
import dev.attestmesh.relying.CanonicalJson;
import dev.attestmesh.relying.MeshManifest;
import dev.attestmesh.server.mesh.MeshConfigRegistry;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.secrets.SealingKeys;
import dev.attestmesh.server.registration.RegistrationRegistry;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateEncodingException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Builds the mesh manifest and its documents from the live registries (docs/relying-party.md). The
 * registries are read twice and the two results compared, so a manifest is only returned when nothing
 * changed while it was read: one consistent view of CA, policies, registrations, mesh config and log.
 */
public final class MeshManifestBuilder {
    /** Reads that keep changing under the builder give up after this many attempts (503 to the caller). */
    static final int MAX_ATTEMPTS = 4;

    private final Supplier<MeshCa> ca;
    private final PolicyRegistry policies;
    private final RegistrationRegistry registrations;
    private final MeshConfigRegistry mesh;
    private final LogCheckpointer checkpoints;
    private final Supplier<String> caKeySealing;
    private final Supplier<List<SealingKeys.PublicKey>> sealingKeys;
    private final boolean insecure;

    /**
     * @param caKeySealing what sealed the CA key at rest ({@code MeshManifest.SEALING_*})
     * @param sealingKeys the public HPKE keys of the policies with {@code sealing: true} (docs/secrets.md)
     * @param insecure dev mode: the statement comes from the simulated TEE
     */
    public MeshManifestBuilder(Supplier<MeshCa> ca, PolicyRegistry policies, RegistrationRegistry registrations,
            MeshConfigRegistry mesh, LogCheckpointer checkpoints, Supplier<String> caKeySealing,
            Supplier<List<SealingKeys.PublicKey>> sealingKeys, boolean insecure) {
        this.ca = ca;
        this.policies = policies;
        this.registrations = registrations;
        this.mesh = mesh;
        this.checkpoints = checkpoints;
        this.caKeySealing = caKeySealing;
        this.sealingKeys = sealingKeys;
        this.insecure = insecure;
    }

    /** Thrown when the state kept changing during {@link #MAX_ATTEMPTS} reads. */
    public static final class UnstableStateException extends RuntimeException {
        UnstableStateException(String message) {
            super(message);
        }
    }

    /** A manifest of the current state, read consistently. */
    public ManifestSnapshot build() {
        if (checkpoints.latest().isEmpty()) {
            checkpoints.checkpointNow(); // the first manifest needs a signed tree head; later ones reuse the latest
        }
        ManifestSnapshot previous = buildOnce();
        for (int attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
            ManifestSnapshot again = buildOnce();
            if (again.sha256().equals(previous.sha256())) {
                return again;
            }
            previous = again;
        }
        throw new UnstableStateException("the mesh state changed during each of " + MAX_ATTEMPTS
                + " attempts to read it consistently; retry");
    }

    private ManifestSnapshot buildOnce() {
        MeshCa meshCa = ca.get();
        Map<String, ManifestSnapshot.Document> docs = new LinkedHashMap<>();
        Map<String, Object> m = new TreeMap<>();
        m.put("format", MeshManifest.FORMAT);
        m.put("trustDomain", meshCa.trustDomain());
        m.put("insecure", insecure);
        String sealing = caKeySealing.get();
        m.put("caKeySealing", sealing);
        try {
            m.put("rootCertificateSha256", MeshManifest.sha256Hex(meshCa.root().getEncoded()));
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException("the mesh root certificate does not encode", e);
        }
        docs.put(MeshManifest.TRUST_BUNDLE, text("application/x-pem-file", Pem.certificates(meshCa.trustBundle())));

        List<Policy> ps = new ArrayList<>(policies.all());
        ps.sort(Comparator.comparing(Policy::id));
        List<Object> policyEntries = new ArrayList<>();
        for (Policy p : ps) {
            policyEntries.add(Map.of("id", p.id(), "version", p.version(),
                    "sha256", MeshManifest.sha256Hex(PolicyDocuments.toYaml(List.of(p)))));
        }
        m.put("policies", policyEntries);
        docs.put(MeshManifest.POLICIES, text("application/yaml", PolicyDocuments.toYaml(ps)));

        List<Registration> rs = new ArrayList<>(registrations.all());
        rs.sort(Comparator.comparing(Registration::id));
        List<Object> registrationEntries = new ArrayList<>();
        for (Registration r : rs) {
            registrationEntries.add(Map.of("id", r.id(), "version", r.version(), "spiffeId", r.spiffeId(),
                    "policies", List.copyOf(r.policies()),
                    "sha256", MeshManifest.sha256Hex(RegistrationDocuments.toYaml(List.of(r)))));
        }
        m.put("registrations", registrationEntries);
        docs.put(MeshManifest.REGISTRATIONS, text("application/yaml", RegistrationDocuments.toYaml(rs)));

        // Anyone may seal data to a policy's members with these keys once the manifest verifies (attestmesh seal).
        List<SealingKeys.PublicKey> keys = new ArrayList<>(sealingKeys.get());
        keys.sort(Comparator.comparing(SealingKeys.PublicKey::policyId).thenComparing(SealingKeys.PublicKey::keyId));
        List<Object> keyEntries = new ArrayList<>();
        for (SealingKeys.PublicKey k : keys) {
            keyEntries.add(Map.of("policyId", k.policyId(), "keyId", k.keyId(), "suite", k.algorithm(),
                    "publicKey", java.util.HexFormat.of().formatHex(k.publicKey()), "state", k.state().name()));
        }
        m.put("sealingKeys", keyEntries);

        MeshConfigRegistry.VersionedMeshConfig config = mesh.current();
        docs.put(MeshManifest.MESH_CONFIG, text("application/yaml", config.document()));
        m.put("meshConfig", Map.of("version", config.version(),
                "sha256", MeshManifest.sha256Hex(config.document())));

        Optional<StoredCheckpoint> latest = checkpoints.latest();
        if (latest.isPresent()) {
            Checkpoint c = latest.get().checkpoint();
            byte[] doc = CanonicalJson.encode(Map.of("note", latest.get().note(),
                    "signingCertificate", Pem.certificates(List.of(checkpoints.signingKey().certificate()))));
            docs.put(MeshManifest.CHECKPOINT, new ManifestSnapshot.Document("application/json", doc));
            m.put("checkpoint", Map.of("origin", c.origin(), "size", c.size(), "headHash", c.headHashHex(),
                    "timestamp", c.timestamp().toString()));
        } else {
            m.put("checkpoint", null);
        }
        Map<String, Object> digests = new TreeMap<>();
        docs.forEach((name, d) -> digests.put(name, MeshManifest.sha256Hex(d.bytes())));
        m.put("documents", digests);
        byte[] manifest = CanonicalJson.encode(m);
        return new ManifestSnapshot(manifest, MeshManifest.sha256Hex(manifest), sealing, docs);
    }

    private static ManifestSnapshot.Document text(String mediaType, String content) {
        return new ManifestSnapshot.Document(mediaType, content.getBytes(StandardCharsets.UTF_8));
    }
}
