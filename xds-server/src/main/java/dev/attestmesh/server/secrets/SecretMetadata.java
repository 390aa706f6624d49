package dev.attestmesh.server.secrets;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What is known about a secret without its value: who may receive it, who may import it, its versions.
 *
 * @param allow the owner's access rule: a node satisfying any clause receives the current version
 * @param exports the clauses that may import the secret (SCONE-style sharing); empty = no import allowed
 * @param imports clauses that imported the secret; effective only while {@code exports} lists them
 * @param currentVersion the version released to nodes
 * @param versions every stored version, oldest first
 */
public record SecretMetadata(String name, List<SecretRule> allow, List<SecretRule> exports, List<SecretRule> imports,
        long currentVersion, List<Version> versions, Instant createdAt, Instant updatedAt) {
    /** One stored version: its number, size in bytes and when it was written. */
    public record Version(long version, int size, Instant createdAt) {}

    public SecretMetadata {
        Objects.requireNonNull(name, "name");
        allow = List.copyOf(allow);
        exports = List.copyOf(exports);
        imports = List.copyOf(imports);
        versions = List.copyOf(versions);
    }

    /**
     * The clauses a node may satisfy to receive the secret: the owner's rule, plus every import the owner still
     * exports to. An import the owner no longer exports grants nothing, so an importer can never widen the rule.
     */
    public List<SecretRule> effectiveRule() {
        Set<SecretRule> out = new LinkedHashSet<>(allow);
        for (SecretRule i : imports) {
            if (exports.contains(i)) {
                out.add(i);
            }
        }
        return new ArrayList<>(out);
    }
}
