package dev.attestmesh.server.relying;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The manifests served recently, by digest, so that a relying party that received a manifest (inline in
 * a statement or from the manifest endpoint) can fetch exactly the documents it names even if the mesh
 * changed since. Bounded: the oldest is forgotten first. Thread-safe.
 */
public final class ManifestSnapshots {
    /** How many manifests stay fetchable by digest. */
    public static final int KEPT = 16;
    private final MeshManifestBuilder builder;
    private final Map<String, ManifestSnapshot> recent = new LinkedHashMap<>(KEPT, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, ManifestSnapshot> eldest) {
            return size() > KEPT;
        }
    };

    public ManifestSnapshots(MeshManifestBuilder builder) {
        this.builder = builder;
    }

    /** The manifest of the mesh as it is now; kept for later document requests. */
    public ManifestSnapshot current() {
        ManifestSnapshot s = builder.build();
        synchronized (recent) {
            recent.put(s.sha256(), s);
        }
        return s;
    }

    /** A manifest served recently, by its lower-case hex SHA-256. */
    public Optional<ManifestSnapshot> find(String sha256) {
        synchronized (recent) {
            return Optional.ofNullable(recent.get(sha256));
        }
    }
}
