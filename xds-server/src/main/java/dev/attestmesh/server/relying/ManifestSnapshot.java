package dev.attestmesh.server.relying;

import java.util.Map;
import java.util.Optional;

/**
 * One mesh manifest with the documents it names, all read from the same state: a document served for
 * this snapshot always has the digest the manifest gives it.
 *
 * @param manifest the canonical manifest bytes (docs/relying-party.md)
 * @param sha256 lower-case hex SHA-256 of {@code manifest}
 * @param caKeySealing what seals the CA key at rest, as the manifest says
 * @param documents by name ({@link dev.attestmesh.relying.MeshManifest#DOCUMENTS})
 */
public record ManifestSnapshot(byte[] manifest, String sha256, String caKeySealing, Map<String, Document> documents) {
    /** A document as served: its media type and exact bytes. */
    public record Document(String mediaType, byte[] bytes) {}

    public ManifestSnapshot {
        manifest = manifest.clone();
        documents = Map.copyOf(documents);
    }

    @Override
    public byte[] manifest() {
        return manifest.clone();
    }

    public Optional<Document> document(String name) {
        return Optional.ofNullable(documents.get(name));
    }
}
